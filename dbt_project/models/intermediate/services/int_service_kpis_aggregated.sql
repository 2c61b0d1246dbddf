-- Grain: one row per service KPI × period grain × period × district ('ALL' or one of the 16
-- districts of ref('districts')), for every period of int_kpi_periods (KPIS.md). City-only
-- KPIs (kpi_catalogue.city_only) have 'ALL' rows only. A period without records is 0 for the
-- flow KPIs; the cumulative KPIs are stocks as of the period's last day, computed city-wide
-- only (KPIS.md lets the cumulative APP KPIs be 'ALL' only; the catalogue marks them so).

{%- set service_kpis = [
    'care_visits_person_times',
    'new_form_service_person_times',
    'culture_sports_person_times',
    'skills_competition_participants',
    'app_service_items_cumulative',
    'app_person_times_cumulative',
] %}

with

summed as (
    select * from {{ ref('int_service_kpis_summed') }}
),

accumulated as (
    select * from {{ ref('int_service_kpis_accumulated') }}
),

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

districts as (
    select * from {{ ref('districts') }}
),

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

spine as (
    {{ kpi_spine(service_kpis, catalogue='catalogue') }}
),

computed as (
    select * from summed
    union all
    select * from accumulated
),

final as (
    {{ kpi_zero_fill('computed') }}
)

select * from final
