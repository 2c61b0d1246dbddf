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

final as (
    {{ union_unknown_row('known_districts', {
        'district_key': unknown_key(),
        'district_code': "'UNKNOWN'",
        'district_name_zh': "'未知'",
        'district_name_en': "'Unknown'",
        'is_unknown': 'true'
    }, columns=[
        'district_key', 'district_code', 'district_name_zh', 'district_name_en', 'is_unknown',
    ]) }}
)

select * from final
