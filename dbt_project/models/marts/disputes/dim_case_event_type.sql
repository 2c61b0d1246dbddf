-- Grain: one row per lifecycle event type of a dispute case (案件节点).
-- The `case_event_type` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('case_event_type', 'case_event_type_key', 'event_type') }}
)

select * from final
