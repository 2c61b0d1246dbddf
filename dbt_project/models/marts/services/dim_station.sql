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

unknown as (
    select
        {{ unknown_key() }} as station_key,
        cast(null as varchar) as station_id,
        '未知驿站' as station_name,
        cast(null as varchar) as district_code,
        cast(null as varchar) as address,
        cast(null as double) as longitude,
        cast(null as double) as latitude,
        cast(null as boolean) as is_24h,
        cast(null as boolean) as is_smart,
        cast(null as date) as opened_on,
        cast(null as date) as closed_on,
        true as is_unknown
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
