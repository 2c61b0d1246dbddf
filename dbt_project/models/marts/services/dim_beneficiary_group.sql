-- Grain: one row per beneficiary group code of the enumerations seed (domain
-- beneficiary_group), plus the "unknown" row (key {{ unknown_key() }}).

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension(
        'beneficiary_group',
        'beneficiary_group_key',
        'beneficiary_group',
        is_unknown_flag=true
    ) }}
)

select * from final
