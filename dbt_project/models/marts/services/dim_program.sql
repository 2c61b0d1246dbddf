-- Grain: one row per service programme in the newest catalogue snapshot, plus the "unknown"
-- row (key {{ unknown_key() }}, null program_code) for deliveries whose programme is not (yet)
-- in the catalogue. Type 1: the catalogue snapshot is the truth, attributes are overwritten.

with

programs as (
    select * from {{ ref('stg_services__programs') }}
),

known as (
    select
        {{ surrogate_key(['program_code']) }} as program_key,
        program_code,
        program_name_zh,
        program_name_en,
        program_category,
        program_category_label_zh,
        program_category_label_en,
        program_channel,
        program_channel_label_zh,
        program_channel_label_en,
        start_on,
        end_on,
        owner_union_id,
        false as is_unknown
    from programs
),

final as (
    {{ union_unknown_row('known', {
        'program_key': unknown_key(),
        'program_name_zh': "'未知项目'",
        'program_name_en': "'Unknown programme'",
        'program_category_label_zh': "'未知'",
        'program_category_label_en': "'Unknown'",
        'program_channel_label_zh': "'未知'",
        'program_channel_label_en': "'Unknown'",
        'is_unknown': 'true'
    }, columns=[
        'program_key', 'program_code', 'program_name_zh', 'program_name_en', 'program_category',
        'program_category_label_zh', 'program_category_label_en', 'program_channel',
        'program_channel_label_zh', 'program_channel_label_en', 'start_on', 'end_on',
        'owner_union_id', 'is_unknown',
    ]) }}
)

select * from final
