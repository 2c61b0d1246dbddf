-- Grain: one row per calendar day (Beijing calendar), over whole years from the first to the
-- last year of the reporting periods (int_kpi_periods), i.e. every date any KPI reads.
-- Conformed: every fact's *_date_key (yyyymmdd) points here.

with

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

bounds as (
    select
        min(period_start) as first_day,
        max(period_end) as last_day
    from periods
    where period_grain = 'year'
),

days as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as date_day
    from bounds
),

attributes as (
    select
        date_day,
        cast(strftime(date_day, '%Y%m%d') as integer) as date_key,
        cast(date_trunc('week', date_day) as date) as week_start,
        cast(date_trunc('month', date_day) as date) as month_start,
        cast(last_day(date_day) as date) as month_end,
        cast(date_trunc('quarter', date_day) as date) as quarter_start,
        cast(date_trunc('year', date_day) as date) as year_start,
        year(date_day) as year_number,
        quarter(date_day) as quarter_number,
        month(date_day) as month_number,
        day(date_day) as day_of_month,
        dayofyear(date_day) as day_of_year,
        isodow(date_day) as day_of_week,
        strftime(date_day, '%A') as day_name_en,
        strftime(date_day, '%B') as month_name_en,
        isoyear(date_day) as iso_year,
        week(date_day) as iso_week,
        strftime(date_day, '%Y-%m') as calendar_month,
        year(date_day) || '-Q' || quarter(date_day) as calendar_quarter,
        isodow(date_day) in (6, 7) as is_weekend,
        date_day = last_day(date_day) as is_month_end,
        month(date_day) in (12, 1, 2) as is_winter,
        month(date_day) in (6, 7, 8) as is_summer,
        case
            when month(date_day) in (12, 1, 2) then 'winter'
            when month(date_day) in (3, 4, 5) then 'spring'
            when month(date_day) in (6, 7, 8) then 'summer'
            else 'autumn'
        end as season
    from days
),

final as (
    select
        date_key,
        date_day,
        year_number,
        quarter_number,
        month_number,
        day_of_month,
        day_of_year,
        day_of_week,
        day_name_en,
        month_name_en,
        iso_year,
        iso_week,
        calendar_quarter,
        calendar_month,
        week_start,
        month_start,
        month_end,
        quarter_start,
        year_start,
        is_weekend,
        is_month_end,
        season,
        is_winter,
        is_summer
    from attributes
)

select * from final
