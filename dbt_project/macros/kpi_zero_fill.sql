{#-
    The final select of every int_<source>_kpis_aggregated model: the kpi_spine() grid left
    joined to the KPI values computed for it (`kpi_values`: a relation or CTE keyed by
    kpi_code, period_grain, period_start, district_code), cast to kpi_values' column types.
    `value` is the SQL for the value column (it may read `spine.*` and `<kpi_values>.*`);
    by default the relation's `value`, 0 where the grid has no computed row, which is the
    README's rule for counts and sums (a rate passes its own expression, null without a
    denominator). Kept in one place so the three sources cannot disagree on the contract.
-#}
{% macro kpi_zero_fill(kpi_values, value=none, spine='spine') -%}
    select
        cast({{ spine }}.kpi_code as {{ dbt.type_string() }}) as kpi_code,
        cast({{ spine }}.period_grain as {{ dbt.type_string() }}) as period_grain,
        cast({{ spine }}.period_start as date) as period_start,
        cast({{ spine }}.district_code as {{ dbt.type_string() }}) as district_code,
        {{ value or 'cast(coalesce(' ~ kpi_values ~ '.value, 0) as ' ~ type_double() ~ ')' }} as value
    from {{ spine }}
    left join {{ kpi_values }}
        on
            {{ spine }}.kpi_code = {{ kpi_values }}.kpi_code
            and {{ spine }}.period_grain = {{ kpi_values }}.period_grain
            and {{ spine }}.period_start = {{ kpi_values }}.period_start
            and {{ spine }}.district_code = {{ kpi_values }}.district_code
{%- endmacro %}
