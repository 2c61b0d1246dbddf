-- Grain: one row per topic of a 12351 hotline request (诉求主题).
-- The `hotline_topic` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('hotline_topic', 'hotline_topic_key', 'topic') }}
)

select * from final
