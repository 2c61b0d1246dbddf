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

final as (
    {{ union_unknown_row('known_categories', {
        'unit_category_key': unknown_key(),
        'unit_category_code': "'UNKNOWN'",
        'unit_category_name_zh': "'未知'",
        'unit_category_name_en': "'Unknown'",
        'is_unknown': 'true'
    }, columns=[
        'unit_category_key', 'unit_category_code', 'unit_category_name_zh', 'unit_category_name_en',
        'is_unknown',
    ]) }}
)

select * from final
