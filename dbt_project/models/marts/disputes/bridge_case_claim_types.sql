-- Grain: one row per case × claim type (a case lists one or more claim types). The weighting
-- factor splits one case evenly over its claim types, so weighted sums add up to case totals.

with

claim_types as (
    select * from {{ ref('stg_disputes__case_claim_types') }}
),

dim_claim_types as (
    select * from {{ ref('dim_claim_type') }}
),

ranked as (
    select
        case_id,
        claim_type,
        claim_type_ordinal,
        row_number() over (
            partition by case_id, claim_type
            order by claim_type_ordinal
        ) as rank_in_case
    from claim_types
),

deduplicated as (
    select
        case_id,
        claim_type,
        claim_type_ordinal
    from ranked
    where rank_in_case = 1
),

final as (
    select
        {{ surrogate_key(['deduplicated.case_id']) }} as case_key,
        coalesce(dim_claim_types.claim_type_key, {{ unknown_key() }}) as claim_type_key,
        deduplicated.case_id,
        deduplicated.claim_type,
        deduplicated.claim_type_ordinal,
        deduplicated.claim_type_ordinal = min(deduplicated.claim_type_ordinal) over (
            partition by deduplicated.case_id
        ) as is_listed_first,
        cast(1 as {{ type_double() }}) / count(*) over (partition by deduplicated.case_id)
            as weighting_factor
    from deduplicated
    left join dim_claim_types on deduplicated.claim_type = dim_claim_types.claim_type
)

select * from final
