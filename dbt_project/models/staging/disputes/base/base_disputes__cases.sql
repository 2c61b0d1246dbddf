-- One row per labour-dispute case (latest version), cases hard-deleted at the source included
-- (is_deleted, deleted_at), with the nested lists as the source sends them: claim_types,
-- events and claimants. The one model that reads the case source; stg_disputes__cases and
-- the models that unnest the lists (stg_disputes__case_events, __case_claim_types,
-- __case_claimants) read it and drop the deleted cases. The claimants' ID and phone
-- pseudonyms stay inside the nested list: only the staging models above pick from it, and
-- none picks them.

with

source as (
    select * from {{ source('disputes', 'case') }}
),

renamed as (
    select
        case_id,
        case_no,
        received_at,
        source_channel,
        district_code,
        handling_union_id,
        employer_uscc,
        employer_name,
        employer_industry_code,
        is_collective,
        legal_aid,
        claim_amount,
        recovered_amount,
        status,
        outcome,
        closed_at,
        updated_at,
        claim_types,
        events,
        claimants,
        _quality_flags as quality_flags,
        _load_id as load_id,
        _loaded_at as loaded_at,
        _is_deleted as is_deleted,
        _deleted_at as deleted_at
    from source
),

final as (
    select * from renamed
)

select * from final
