-- One row per union rest station (工会驿站) in the newest station snapshot; stations
-- hard-deleted at the source are dropped.

with

stations as (
    select * from {{ source('services', 'station') }}
),

live_stations as (
    select * from stations
    where not _is_deleted
),

final as (
    select
        station_id,
        name as station_name,
        district_code,
        address,
        longitude,
        latitude,
        is_24h,
        is_smart,
        opened_on,
        closed_on,
        _loaded_at as loaded_at
    from live_stations
)

select * from final
