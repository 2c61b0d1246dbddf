-- Grain: one row per category of a 12351 hotline request (诉求类别).
-- The `hotline_category` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

final as (
    {{ enumeration_dimension('hotline_category', 'hotline_category_key', 'category') }}
)

select * from final
