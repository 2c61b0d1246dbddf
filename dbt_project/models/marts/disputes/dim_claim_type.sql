-- Grain: one row per type of claim a dispute case makes (争议请求类型).
-- The `claim_type` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as claim_type_key,
        code as claim_type,
        label_zh as claim_type_label_zh,
        label_en as claim_type_label_en
    from enumerations
    where domain = 'claim_type'
),

unknown as (
    select
        {{ unknown_key() }} as claim_type_key,
        cast(null as varchar) as claim_type,
        '未知' as claim_type_label_zh,
        'Unknown' as claim_type_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
