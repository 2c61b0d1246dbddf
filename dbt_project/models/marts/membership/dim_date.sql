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
    select
        {{ date_series('first_day', 'last_day', "interval '1 day'") }} as date_day
    from bounds
),

attributes as (
    select
        date_day,
        {{ date_key('date_day') }} as date_key,
        cast({{ trunc_date("'week'", 'date_day') }} as date) as week_start,
        cast({{ trunc_date("'month'", 'date_day') }} as date) as month_start,
        cast({{ month_end('date_day') }} as date) as month_end,
        cast({{ trunc_date("'quarter'", 'date_day') }} as date) as quarter_start,
        cast({{ trunc_date("'year'", 'date_day') }} as date) as year_start,
        {{ date_part_number('year', 'date_day') }} as year_number,
        {{ date_part_number('quarter', 'date_day') }} as quarter_number,
        {{ date_part_number('month', 'date_day') }} as month_number,
        {{ date_part_number('day', 'date_day') }} as day_of_month,
        {{ date_part_number('dayofyear', 'date_day') }} as day_of_year,
        {{ date_part_number('isodow', 'date_day') }} as day_of_week,
        {{ format_date('date_day', '%A') }} as day_name_en,
        {{ format_date('date_day', '%B') }} as month_name_en,
        {{ date_part_number('isoyear', 'date_day') }} as iso_year,
        {{ date_part_number('week', 'date_day') }} as iso_week,
        {{ format_date('date_day', '%Y-%m') }} as calendar_month
    from days
),

derived as (
    select
        *,
        year_number || '-Q' || quarter_number as calendar_quarter,
        day_of_week in (6, 7) as is_weekend,
        date_day = month_end as is_month_end,
        month_number in (12, 1, 2) as is_winter,
        month_number in (6, 7, 8) as is_summer,
        case
            when month_number in (12, 1, 2) then 'winter'
            when month_number in (3, 4, 5) then 'spring'
            when month_number in (6, 7, 8) then 'summer'
            else 'autumn'
        end as season
    from attributes
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
    from derived
)

select * from final
