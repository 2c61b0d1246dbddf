-- Grain: one row per KPI × period grain × period × district ('ALL' or a district code),
-- for every period of int_kpi_periods (KPIS.md). Empty periods carry 0, or null for a rate
-- without a denominator. City-only KPIs (kpi_catalogue.city_only) have 'ALL' rows only.

with

membership_kpis as (
    select * from {{ ref('int_membership_kpis_aggregated') }}
),

dispute_kpis as (
    select * from {{ ref('int_dispute_kpis_aggregated') }}
),

service_kpis as (
    select * from {{ ref('int_service_kpis_aggregated') }}
),

-- Each has kpi_code, period_grain, period_start, district_code, value (kpi_zero_fill).
unioned as (
    select * from membership_kpis
    union all
    select * from dispute_kpis
    union all
    select * from service_kpis
),

final as (
    select
        cast(kpi_code as {{ dbt.type_string() }}) as kpi_code,
        cast(period_grain as {{ dbt.type_string() }}) as period_grain,
        cast(period_start as date) as period_start,
        cast(district_code as {{ dbt.type_string() }}) as district_code,
        cast(value as {{ type_double() }}) as value  -- noqa: RF04
    from unioned
)

select * from final
