-- Grain: one row per union rest station (工会驿站) in the newest station snapshot, plus the
-- "unknown" row (key {{ unknown_key() }}, null station_id) for deliveries without a station
-- and for deliveries and visits whose station is not (yet) known. Type 1.

with

stations as (
    select * from {{ ref('stg_services__stations') }}
),

known as (
    select
        {{ surrogate_key(['station_id']) }} as station_key,
        station_id,
        station_name,
        district_code,
        address,
        longitude,
        latitude,
        is_24h,
        is_smart,
        opened_on,
        closed_on,
        false as is_unknown
    from stations
),

final as (
    {{ union_unknown_row('known', {
        'station_key': unknown_key(),
        'station_name': "'未知驿站'",
        'is_unknown': 'true'
    }, columns=[
        'station_key', 'station_id', 'station_name', 'district_code', 'address', 'longitude',
        'latitude', 'is_24h', 'is_smart', 'opened_on', 'closed_on', 'is_unknown',
    ]) }}
)

select * from final
