-- One row per labour-dispute case (latest version), without the nested lists: events, claim
-- types and claimants have their own staging models. Cases deleted at the source are dropped.

with

cases as (
    select * from {{ ref('base_disputes__cases') }}
),

renamed as (
    select
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(case_no as {{ dbt.type_string() }}) as case_no,
        cast(received_at as timestamp) as received_at,
        cast(received_at as date) as received_on,
        cast(source_channel as {{ dbt.type_string() }}) as source_channel,
        cast(district_code as {{ dbt.type_string() }}) as district_code,
        cast(handling_union_id as {{ dbt.type_string() }}) as handling_union_id,
        cast(employer_uscc as {{ dbt.type_string() }}) as employer_uscc,
        cast(employer_name as {{ dbt.type_string() }}) as employer_name,
        cast(employer_industry_code as {{ dbt.type_string() }}) as employer_industry_code,
        cast(is_collective as boolean) as is_collective,
        cast(legal_aid as boolean) as has_legal_aid,
        cast(claim_amount as decimal(18, 2)) as claim_amount,
        cast(recovered_amount as decimal(18, 2)) as recovered_amount,
        cast(status as {{ dbt.type_string() }}) as case_status,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        cast(closed_at as timestamp) as closed_at,
        cast(closed_at as date) as closed_on,
        cast(updated_at as timestamp) as updated_at,
        cast(loaded_at as timestamp) as loaded_at,
        case
            when employer_uscc is not null
                then not {{ list_contains_value('quality_flags', "'invalid_uscc_check'") }}
        end as employer_uscc_is_valid,
        coalesce({{ list_length('claim_types') }}, 0) as claim_type_count,
        coalesce({{ struct_list_length('claimants') }}, 0) as claimant_count,
        coalesce({{ struct_list_length('events') }}, 0) as event_count,
        coalesce(quality_flags, {{ empty_list('varchar') }}) as quality_flags
    from cases
    where not is_deleted
),

final as (
    select * from renamed
)

select * from final
