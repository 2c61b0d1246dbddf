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

unknown as (
    select
        {{ unknown_key() }} as program_key,
        cast(null as varchar) as program_code,
        '未知项目' as program_name_zh,
        'Unknown programme' as program_name_en,
        cast(null as varchar) as program_category,
        '未知' as program_category_label_zh,
        'Unknown' as program_category_label_en,
        cast(null as varchar) as program_channel,
        '未知' as program_channel_label_zh,
        'Unknown' as program_channel_label_en,
        cast(null as date) as start_on,
        cast(null as date) as end_on,
        cast(null as varchar) as owner_union_id,
        true as is_unknown
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
