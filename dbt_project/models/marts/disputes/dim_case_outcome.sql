-- Grain: one row per outcome of a closed dispute case (结案方式).
-- The `case_outcome` codes of the enumerations seed with their labels,
-- plus the unknown member for a code that is missing or not (yet) listed.

with

enumerations as (
    select * from {{ ref('enumerations') }}
),

known as (
    select
        {{ surrogate_key(['code']) }} as case_outcome_key,
        code as outcome,
        label_zh as outcome_label_zh,
        label_en as outcome_label_en
    from enumerations
    where domain = 'case_outcome'
),

unknown as (
    select
        {{ unknown_key() }} as case_outcome_key,
        cast(null as varchar) as outcome,
        '未知' as outcome_label_zh,
        'Unknown' as outcome_label_en
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
