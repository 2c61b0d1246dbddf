-- Grain: one row per channel a dispute case came in through (案件来源渠道).
-- The `case_source_channel` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as dispute_channel_key,
        code as source_channel,
        label_zh as source_channel_label_zh,
        label_en as source_channel_label_en
    from enumerations
    where domain = 'case_source_channel'
),

unknown as (
    select
        {{ unknown_key() }} as dispute_channel_key,
        cast(null as varchar) as source_channel,
        '未知' as source_channel_label_zh,
        'Unknown' as source_channel_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
