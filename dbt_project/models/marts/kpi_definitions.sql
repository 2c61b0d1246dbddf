-- One row per work-report KPI (KPIS.md), with its names and definition in words.

with

definitions as (
    select * from {{ ref('kpi_catalogue') }}
),

final as (
    select
        kpi_code,
        name_zh,
        name_en,
        unit,
        definition
    from definitions
)

select * from final
