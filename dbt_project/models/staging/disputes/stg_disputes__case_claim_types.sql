-- One row per case × listed claim type, numbered in the order the source lists them
-- (claim_type_ordinal 1 = the first, the main claim). Cases deleted at the source are dropped.

with

cases as (
    select * from {{ ref('base_disputes__cases') }}
),

unnested as (
    select
        case_id,
        {{ list_elements('claim_types', 'claim_type_ordinal', 'claim_type') }}
    from cases
    where not is_deleted
),

renamed as (
    select
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(claim_type_ordinal as integer) as claim_type_ordinal,
        cast(claim_type as {{ dbt.type_string() }}) as claim_type
    from unnested
),

final as (
    select * from renamed
)

select * from final
