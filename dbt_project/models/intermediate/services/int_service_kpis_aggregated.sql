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

service_kpis as (
    select
        kpi.kpi_code,
        coalesce(catalogue.city_only, false) as city_only
    from (
        values
        {%- for code in service_kpis %}
            ('{{ code }}'){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as kpi (kpi_code)
    left join catalogue
        on kpi.kpi_code = catalogue.kpi_code
),

areas as (
    select
        'ALL' as district_code,
        true as is_city
    union all
    select
        district_code,
        false as is_city
    from districts
),

spine as (
    select
        service_kpis.kpi_code,
        periods.period_grain,
        periods.period_start,
        areas.district_code
    from service_kpis
    cross join periods
    inner join areas
        on areas.is_city or not service_kpis.city_only
),

computed as (
    select * from summed
    union all
    select * from accumulated
),

final as (
    select
        cast(spine.kpi_code as varchar) as kpi_code,
        cast(spine.period_grain as varchar) as period_grain,
        cast(spine.period_start as date) as period_start,
        cast(spine.district_code as varchar) as district_code,
        cast(coalesce(computed.value, 0) as double) as value  -- noqa: RF04
    from spine
    left join computed
        on
            spine.kpi_code = computed.kpi_code
            and spine.period_grain = computed.period_grain
            and spine.period_start = computed.period_start
            and spine.district_code = computed.district_code
)

select * from final
