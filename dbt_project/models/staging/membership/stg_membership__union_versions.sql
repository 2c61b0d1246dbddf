-- One row per committed version of a grassroots union (source union_org_history: every
-- version every load wrote, resends included), the input of the SCD2 history
-- (int_unions_historized). Renamed as stg_membership__unions; the raw load stamps are kept
-- (load_id, source_file, source_line): they order versions with equal updated_at.

with

source as (
    select * from {{ source('membership', 'union_org_history') }}
),

renamed as (
    select
        union_id,
        union_uscc,
        union_name,
        union_type,
        employer_uscc,
        employer_name,
        unit_category,
        industry_code,
        district_code,
        parent_union_id,
        founded_on,
        headcount,
        status as union_status,
        dissolved_on,
        created_at,
        updated_at,
        _load_id as load_id,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at,
        not {{ list_contains_value('_quality_flags', "'invalid_uscc_check'") }} as has_valid_uscc
    from source
),

final as (
    select * from renamed
)

select * from final
