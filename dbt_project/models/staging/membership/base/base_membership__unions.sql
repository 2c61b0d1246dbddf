-- One row per grassroots union (基层工会) in the membership system's current view, unions
-- hard-deleted at the source included (is_deleted, deleted_at: the load that noticed the
-- deletion). The one model that reads the union_org source: stg_membership__unions keeps the
-- live unions, int_unions_historized closes a deleted union's last version at deleted_at.

with

source as (
    select * from {{ source('membership', 'union_org') }}
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
        cast(headcount as integer) as headcount,
        status as union_status,
        dissolved_on,
        created_at,
        updated_at,
        _loaded_at as loaded_at,
        not {{ list_contains_value('_quality_flags', "'invalid_uscc_check'") }} as has_valid_uscc,
        _is_deleted as is_deleted,
        _deleted_at as deleted_at
    from source
),

final as (
    select * from renamed
)

select * from final
