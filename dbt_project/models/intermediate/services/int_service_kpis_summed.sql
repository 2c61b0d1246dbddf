-- Flow KPIs of the service system (KPIS.md): person-times of deliveries whose delivered_on
-- falls in the period, by period grain × period × district and for the whole city ('ALL').
-- Sparse: only cells with deliveries; int_service_kpis_aggregated zero-fills the rest.
-- A delivery whose program_code is not (yet) in the catalogue has no category, so it counts
-- only where its own attributes (beneficiary_group) qualify it.

with

deliveries as (
    select * from {{ ref('int_service_deliveries_summarised') }}
),

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

grains as (
    select distinct period_grain from periods
),

monthly as (
    select
        'care_visits_person_times' as kpi_code,
        month_start,
        district_code,
        person_times
    from deliveries
    where program_category in ('WINTER_WARMTH', 'SUMMER_COOLNESS')

    union all

    select
        'new_form_service_person_times' as kpi_code,
        month_start,
        district_code,
        person_times
    from deliveries
    where beneficiary_group = 'NEW_FORM_WORKER'

    union all

    select
        'culture_sports_person_times' as kpi_code,
        month_start,
        district_code,
        person_times
    from deliveries
    where program_category = 'CULTURE_SPORTS'

    union all

    select
        'skills_competition_participants' as kpi_code,
        month_start,
        district_code,
        person_times
    from deliveries
    where program_category = 'SKILLS_COMPETITION'
),

by_district as (
    select
        monthly.kpi_code,
        grains.period_grain,
        cast({{ trunc_date('grains.period_grain', 'monthly.month_start') }} as date)
            as period_start,
        monthly.district_code,
        sum(monthly.person_times) as person_times
    from monthly
    cross join grains
    group by monthly.kpi_code, grains.period_grain, period_start, monthly.district_code
),

city as (
    select
        kpi_code,
        period_grain,
        period_start,
        'ALL' as district_code,
        sum(person_times) as person_times
    from by_district
    group by kpi_code, period_grain, period_start
),

final as (
    select
        kpi_code,
        period_grain,
        period_start,
        district_code,
        cast(person_times as {{ type_double() }}) as value  -- noqa: RF04
    from by_district
    where district_code is not null

    union all

    select
        kpi_code,
        period_grain,
        period_start,
        district_code,
        cast(person_times as {{ type_double() }}) as value  -- noqa: RF04
    from city
)

select * from final
