{#-
    The number of `datepart` boundaries (day, second...) from `start` to `end` (end - start,
    whole units as DuckDB's date_diff counts them: days between calendar dates, seconds
    between whole-second marks), as bigint. DuckDB: date_diff; elsewhere dbt's datediff.
-#}
{% macro date_difference(datepart, start, end) -%}
    {{ return(adapter.dispatch('date_difference', 'union_warehouse')(datepart, start, end)) }}
{%- endmacro %}

{% macro default__date_difference(datepart, start, end) -%}
    cast({{ dbt.datediff(start, end, datepart) }} as bigint)
{%- endmacro %}

{% macro duckdb__date_difference(datepart, start, end) -%}
    date_diff('{{ datepart }}', {{ start }}, {{ end }})
{%- endmacro %}

{#- Spark: whole days between the dates, or seconds between the epoch seconds (so, as on
    DuckDB, boundaries crossed rather than elapsed time truncated). -#}
{% macro spark__date_difference(datepart, start, end) -%}
    {%- if datepart == 'day' -%}
        cast(datediff(cast({{ end }} as date), cast({{ start }} as date)) as bigint)
    {%- elif datepart == 'second' -%}
        (
            unix_seconds(cast({{ end }} as timestamp_ltz))
            - unix_seconds(cast({{ start }} as timestamp_ltz))
        )
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "date_difference on spark: unsupported part " ~ datepart) }}
    {%- endif -%}
{%- endmacro %}
