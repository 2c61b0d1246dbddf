-- Grain: one row per beneficiary group code of the enumerations seed (domain
-- beneficiary_group), plus the "unknown" row (key {{ unknown_key() }}).

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as beneficiary_group_key,
        code as beneficiary_group,
        label_zh as beneficiary_group_label_zh,
        label_en as beneficiary_group_label_en,
        false as is_unknown
    from enumerations
    where domain = 'beneficiary_group'
),

unknown as (
    select
        {{ unknown_key() }} as beneficiary_group_key,
        cast(null as varchar) as beneficiary_group,
        '未知' as beneficiary_group_label_zh,
        'Unknown' as beneficiary_group_label_en,
        true as is_unknown
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
