-- Grain: one row per category of a 12351 hotline request (诉求类别).
-- The `hotline_category` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as hotline_category_key,
        code as category,
        label_zh as category_label_zh,
        label_en as category_label_en
    from enumerations
    where domain = 'hotline_category'
),

unknown as (
    select
        {{ unknown_key() }} as hotline_category_key,
        cast(null as varchar) as category,
        '未知' as category_label_zh,
        'Unknown' as category_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
