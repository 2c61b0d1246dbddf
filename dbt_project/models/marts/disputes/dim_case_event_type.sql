-- Grain: one row per lifecycle event type of a dispute case (案件节点).
-- The `case_event_type` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as case_event_type_key,
        code as event_type,
        label_zh as event_type_label_zh,
        label_en as event_type_label_en
    from enumerations
    where domain = 'case_event_type'
),

unknown as (
    select
        {{ unknown_key() }} as case_event_type_key,
        cast(null as varchar) as event_type,
        '未知' as event_type_label_zh,
        'Unknown' as event_type_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
