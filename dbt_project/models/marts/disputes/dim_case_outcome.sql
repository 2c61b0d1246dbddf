-- Grain: one row per outcome of a closed dispute case (结案方式).
-- The `case_outcome` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('case_outcome', 'case_outcome_key', 'outcome') }}
)

select * from final
