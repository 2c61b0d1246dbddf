-- Grain: one row per type of claim a dispute case makes (争议请求类型).
-- The `claim_type` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('claim_type', 'claim_type_key', 'claim_type') }}
)

select * from final
