-- Grain: one row per Beijing district (GB/T 2260) of the districts seed, plus the "unknown"
-- row that facts use when a record's district is not known.

with

districts as (
    select * from {{ ref('districts') }}
),

known_districts as (
    select
        {{ surrogate_key(['district_code']) }} as district_key,
        district_code,
        name_zh as district_name_zh,
        name_en as district_name_en,
        false as is_unknown
    from districts
),

unknown_district as (
    select
        {{ unknown_key() }} as district_key,
        'UNKNOWN' as district_code,
        '未知' as district_name_zh,
        'Unknown' as district_name_en,
        true as is_unknown
),

final as (
    select * from known_districts
    union all
    select * from unknown_district
)

select * from final
