-- Grain: one row per channel a dispute case came in through (案件来源渠道).
-- The `case_source_channel` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('case_source_channel', 'dispute_channel_key', 'source_channel') }}
)

select * from final
