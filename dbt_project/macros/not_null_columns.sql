{#- No row of the model has a null in any of `column_names`: dbt's not_null for every
    required column of a model at once. One test per column cost dbt a node each, about
    50 ms of compiling, events and transaction around a query of a millisecond (a nightly
    build's 235 not_null tests: 11.6 node seconds in dbt, 0.57 s of SQL at SF1;
    bench/RESULTS.md); this reads the model once for all its columns. Fails with one row
    per column holding nulls, with how many rows hold one. A not_null scoped by a
    `where` stays a column test of its own. -#}
{% test not_null_columns(model, column_names) -%}
    with null_counts as (
        select
    {%- for column in column_names %}
            sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
            {{- "," if not loop.last }}
            {%- endfor %}
        from {{ model }}
    )
    {%- for column in column_names %}
    select
        '{{ column }}' as column_name,
        nulls_{{ loop.index }} as null_rows
    from null_counts
    where nulls_{{ loop.index }} > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endtest %}
