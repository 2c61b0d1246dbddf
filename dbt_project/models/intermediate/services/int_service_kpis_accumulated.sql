-- Cumulative (stock) KPIs of the service system (KPIS.md), city-wide ('ALL') only:
--   app_service_items_cumulative: APP_SERVICE programmes with start_on on or before the
--     period's last day;
--   app_person_times_cumulative: person-times of deliveries with channel APP and delivered_on
--     on or before the period's last day.
-- One row per KPI × every period of int_kpi_periods. Each period's increment (records dated
-- in it) is summed once, then a running sum over the period spine gives the value as of the
-- period's last day; a period without records carries the previous stock. Records dated
-- before the first period open the first period's stock; records after the last are outside
-- every period.

with

deliveries as (
    select * from {{ ref('int_service_deliveries_summarised') }}
),

programs as (
    select * from {{ ref('stg_services__programs') }}
),

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

kpis as (
    select kpi.kpi_code
    from (
        values ('app_service_items_cumulative'), ('app_person_times_cumulative')
    ) as kpi (kpi_code)
),

grains as (
    select distinct period_grain from periods
),

first_month as (
    select min(period_start) as first_month_start
    from periods
    where period_grain = 'month'
),

increments as (
    select
        'app_service_items_cumulative' as kpi_code,
        start_on as counted_on,
        1 as amount
    from programs
    where program_category = 'APP_SERVICE'

    union all

    select
        'app_person_times_cumulative' as kpi_code,
        month_start as counted_on,
        person_times as amount
    from deliveries
    where channel = 'APP'
),

monthly_increments as (
    select
        increments.kpi_code,
        cast({{ trunc_date(
            "'month'", 'greatest(increments.counted_on, first_month.first_month_start)'
        ) }} as date) as month_start,
        sum(increments.amount) as amount
    from increments
    cross join first_month
    where increments.counted_on is not null
    group by increments.kpi_code, month_start
),

period_increments as (
    select
        monthly_increments.kpi_code,
        grains.period_grain,
        cast({{ trunc_date('grains.period_grain', 'monthly_increments.month_start') }} as date)
            as period_start,
        sum(monthly_increments.amount) as amount
    from monthly_increments
    cross join grains
    group by monthly_increments.kpi_code, grains.period_grain, period_start
),

spine as (
    select
        kpis.kpi_code,
        periods.period_grain,
        periods.period_start
    from kpis
    cross join periods
),

accumulated as (
    select
        spine.kpi_code,
        spine.period_grain,
        spine.period_start,
        sum(coalesce(period_increments.amount, 0)) over (
            partition by spine.kpi_code, spine.period_grain
            order by spine.period_start
            rows between unbounded preceding and current row
        ) as stock
    from spine
    left join period_increments
        on
            spine.kpi_code = period_increments.kpi_code
            and spine.period_grain = period_increments.period_grain
            and spine.period_start = period_increments.period_start
),

final as (
    select
        kpi_code,
        period_grain,
        period_start,
        'ALL' as district_code,
        cast(stock as {{ type_double() }}) as value  -- noqa: RF04
    from accumulated
)

select * from final
