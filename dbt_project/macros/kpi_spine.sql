{#-
    The KPI grid every int_<source>_kpis_aggregated model must cover (README, "KPIs"): each
    KPI in `kpi_codes` × every period of int_kpi_periods × ('ALL' + each district), 'ALL' only
    for KPIs with city_only in kpi_catalogue. Written once here because three sources repeated
    it and a drift in one copy would silently drop or add rows from marts.kpi_values.
    Renders a select (use it as a CTE body) over the model's own import CTEs, named by
    `periods`, `districts` and `catalogue`, with columns kpi_code, unit, period_grain,
    period_start, period_end, district_code. With `catalogued_only` a KPI missing from the
    catalogue has no rows (otherwise it is kept, not city-only, unit null). Pair it with
    kpi_zero_fill().
-#}
{% macro kpi_spine(
    kpi_codes,
    periods='periods',
    districts='districts',
    catalogue='kpi_catalogue',
    catalogued_only=false
) -%}
    select
        grid_kpis.kpi_code,
        {{ catalogue }}.unit,
        {{ periods }}.period_grain,
        {{ periods }}.period_start,
        {{ periods }}.period_end,
        grid_areas.district_code
    from (
        values {% for code in kpi_codes %}('{{ code }}'){{ ', ' if not loop.last }}{% endfor %}
    ) as grid_kpis (kpi_code)
    {{ 'inner' if catalogued_only else 'left' }} join {{ catalogue }}
        on grid_kpis.kpi_code = {{ catalogue }}.kpi_code
    cross join {{ periods }}
    inner join (
        select
            'ALL' as district_code,
            true as is_city
        union all
        select
            district_code,
            false as is_city
        from {{ districts }}
    ) as grid_areas
        on grid_areas.is_city or not coalesce({{ catalogue }}.city_only, false)
{%- endmacro %}
