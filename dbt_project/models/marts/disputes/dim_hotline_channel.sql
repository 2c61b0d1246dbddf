-- Grain: one row per channel a 12351 hotline request came in through (诉求渠道).
-- The `hotline_channel` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as hotline_channel_key,
        code as channel,
        label_zh as channel_label_zh,
        label_en as channel_label_en
    from enumerations
    where domain = 'hotline_channel'
),

unknown as (
    select
        {{ unknown_key() }} as hotline_channel_key,
        cast(null as varchar) as channel,
        '未知' as channel_label_zh,
        'Unknown' as channel_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
