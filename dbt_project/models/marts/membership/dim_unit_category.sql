-- Grain: one row per category of employing unit (单位类别) of the unit_categories seed, plus
-- the "unknown" row.

with

unit_categories as (
    select * from {{ ref('unit_categories') }}
),

known_categories as (
    select
        {{ surrogate_key(['unit_category']) }} as unit_category_key,
        unit_category as unit_category_code,
        name_zh as unit_category_name_zh,
        name_en as unit_category_name_en,
        false as is_unknown
    from unit_categories
),

unknown_category as (
    select
        {{ unknown_key() }} as unit_category_key,
        'UNKNOWN' as unit_category_code,
        '未知' as unit_category_name_zh,
        'Unknown' as unit_category_name_en,
        true as is_unknown
),

final as (
    select * from known_categories
    union all
    select * from unknown_category
)

select * from final
