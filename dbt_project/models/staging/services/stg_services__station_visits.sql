-- One row per station and day from the monthly station-visit workbooks (Chinese headers
-- renamed at ingestion); rows hard-deleted at the source are dropped.

with

station_visits as (
    select * from {{ source('services', 'station_visit') }}
),

live_station_visits as (
    select * from station_visits
    where not _is_deleted
),

final as (
    select
        station_id,
        visit_date,
        cast(visits as integer) as visits,
        cast(new_form_visits as integer) as new_form_visits,
        reporting_union_id,
        _loaded_at as loaded_at
    from live_station_visits
)

select * from final
