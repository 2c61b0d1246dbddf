-- Grain: one row per channel a 12351 hotline request came in through (诉求渠道).
-- The `hotline_channel` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('hotline_channel', 'hotline_channel_key', 'channel') }}
)

select * from final
