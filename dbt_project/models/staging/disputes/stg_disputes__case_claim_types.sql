-- One row per case × listed claim type, numbered in the order the source lists them
-- (claim_type_ordinal 1 = the first, the main claim). Cases deleted at the source are dropped.

with

source as (
    select * from {{ source('disputes', 'case') }}
),

unnested as (
    select
        case_id,
        generate_subscripts(claim_types, 1) as claim_type_ordinal,
        unnest(claim_types) as claim_type
    from source
    where not _is_deleted
),

renamed as (
    select
        cast(case_id as varchar) as case_id,
        cast(claim_type_ordinal as integer) as claim_type_ordinal,
        cast(claim_type as varchar) as claim_type
    from unnested
),

final as (
    select * from renamed
)

select * from final
