-- One row per service programme in the newest catalogue snapshot; programmes hard-deleted at
-- the source are dropped. Codes keep their source value; labels come from the enumerations
-- seed.

with

programs as (
    select * from {{ source('services', 'program') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

live_programs as (
    select * from programs
    where not _is_deleted
),

renamed as (
    select
        program_code,
        name_zh as program_name_zh,
        name_en as program_name_en,
        category as program_category,
        channel as program_channel,
        start_on,
        end_on,
        owner_union_id,
        _loaded_at as loaded_at
    from live_programs
),

final as (
    select
        renamed.*,
        categories.label_zh as program_category_label_zh,
        categories.label_en as program_category_label_en,
        channels.label_zh as program_channel_label_zh,
        channels.label_en as program_channel_label_en
    from renamed
    left join enumerations as categories
        on categories.domain = 'program_category' and renamed.program_category = categories.code
    left join enumerations as channels
        on channels.domain = 'program_channel' and renamed.program_channel = channels.code
)

select * from final
