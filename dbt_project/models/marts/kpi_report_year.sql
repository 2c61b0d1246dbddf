-- Grain: one row per year × KPI, city-wide: the year's KPIs laid out like the work report, in
-- its order, with Chinese labels and the figure written the way the report writes it.

{{ config(materialized='view') }}

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
        year(period_start) as report_year
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
                then printf('%.1f%%', city_years.value * 100)
            when catalogue.unit = 'yuan' and city_years.value >= 1e8
                then printf('%.2f亿元', city_years.value / 1e8)
            when catalogue.unit = 'yuan'
                then printf('%.2f万元', city_years.value / 1e4)
            when catalogue.unit = 'person_times' and city_years.value >= 1e4
                then printf('%.2f万人次', city_years.value / 1e4)
            when catalogue.unit = 'person_times'
                then printf('%d人次', city_years.value::bigint)
            else printf('%d', city_years.value::bigint)
        end as value_zh
    from city_years
    inner join catalogue on city_years.kpi_code = catalogue.kpi_code
)

select * from final
