-- Every reporting period the KPIs are laid out on (KPIS.md: "every period from the first
-- record to the last load"): years, quarters and months from the earliest date any KPI reads
-- to the latest record date loaded (the data's as-of date). Staging has dropped the records
-- deleted at the source.

with

unions as (
    select * from {{ ref('stg_membership__unions') }}
),

membership_events as (
    select * from {{ ref('stg_membership__membership_events') }}
),

honors as (
    select * from {{ ref('stg_membership__honors') }}
),

cases as (
    select * from {{ ref('stg_disputes__cases') }}
),

hotline_requests as (
    select * from {{ ref('stg_disputes__hotline_requests') }}
),

deliveries as (
    select * from {{ ref('stg_services__deliveries') }}
),

union_dates as (
    select founded_on as record_date
    from unions
),

event_dates as (
    select event_date as record_date
    from membership_events
),

case_dates as (
    select received_on as record_date
    from cases
),

case_closing_dates as (
    -- A case closes after it is received; its recovered amount counts in the closing period.
    select closed_on as record_date
    from cases
    where closed_on is not null
),

hotline_dates as (
    select received_on as record_date
    from hotline_requests
),

delivery_dates as (
    select delivered_on as record_date
    from deliveries
),

honor_dates as (
    select awarded_on as record_date
    from honors
),

all_dates as (
    select record_date from union_dates
    union all
    select record_date from event_dates
    union all
    select record_date from case_dates
    union all
    select record_date from case_closing_dates
    union all
    select record_date from hotline_dates
    union all
    select record_date from delivery_dates
    union all
    select record_date from honor_dates
),

bounds as (
    select
        min(record_date) as first_day,
        max(record_date) as last_day
    from all_dates
),

grains as (
    select
        grain.period_grain,
        grain.step
    from (
        values
        ('year', interval '1 year'),
        ('quarter', interval '3 months'),
        ('month', interval '1 month')
    ) as grain (period_grain, step)
),

periods as (
    select
        grains.period_grain,
        {{ date_series(
            trunc_date('grains.period_grain', 'bounds.first_day'),
            'bounds.last_day',
            'grains.step'
        ) }} as period_start,
        grains.step
    from grains
    cross join bounds
),

final as (
    select
        period_grain,
        period_start,
        cast(period_start + step - interval '1 day' as date) as period_end
    from periods
)

select * from final
