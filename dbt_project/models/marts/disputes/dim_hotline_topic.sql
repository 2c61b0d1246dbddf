-- Grain: one row per topic of a 12351 hotline request (诉求主题).
-- The `hotline_topic` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as hotline_topic_key,
        code as topic,
        label_zh as topic_label_zh,
        label_en as topic_label_en
    from enumerations
    where domain = 'hotline_topic'
),

unknown as (
    select
        {{ unknown_key() }} as hotline_topic_key,
        cast(null as varchar) as topic,
        '未知' as topic_label_zh,
        'Unknown' as topic_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
