-- Grain: one row per year × KPI, city-wide: the year's KPIs laid out like the work report, in
-- its order, with Chinese labels and the figure written the way the report writes it.

{#- On Spark a view's SQL stays in Spark: as a table, its rows are landed in the warehouse
    with the other marts (orchestration/defs/dbt/assets.py, built_marts). -#}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}

with

kpi_values as (
    select * from {{ ref('kpi_values') }}
),

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

city_years as (
    select
        kpi_code,
        value,
        {{ date_part_number('year', 'period_start') }} as report_year
    from kpi_values
    where period_grain = 'year' and district_code = 'ALL'
),

final as (
    select
        city_years.report_year,
        catalogue.report_order,
        catalogue.kpi_code,
        catalogue.name_zh,
        catalogue.name_en,
        catalogue.unit,
        city_years.value,
        case
            when city_years.value is null then null
            when catalogue.unit = 'rate'
                then {{ format_fixed('city_years.value * 100', 1, '%') }}
            when catalogue.unit = 'yuan' and city_years.value >= 1e8
                then {{ format_fixed('city_years.value / 1e8', 2, '亿元') }}
            when catalogue.unit = 'yuan'
                then {{ format_fixed('city_years.value / 1e4', 2, '万元') }}
            when catalogue.unit = 'person_times' and city_years.value >= 1e4
                then {{ format_fixed('city_years.value / 1e4', 2, '万人次') }}
            when catalogue.unit = 'person_times'
                then {{ format_integer('city_years.value', '人次') }}
            else {{ format_integer('city_years.value') }}
        end as value_zh
    from city_years
    inner join catalogue on city_years.kpi_code = catalogue.kpi_code
)

select * from final
