-- One row per member (会员) in the membership system's current view, members hard-deleted at
-- the source included (is_deleted, deleted_at: the load that noticed the deletion). The one
-- model that reads the member source; int_members_historized closes a deleted member's last
-- version at deleted_at. Members as they are now are read nowhere else: dim_member labels the
-- SCD2 versions (stg_membership__member_versions). Pseudonymous: no name, and neither the
-- ID-number nor the phone pseudonym, only whether each was valid.

with

source as (
    select * from {{ source('membership', 'member') }}
),

renamed as (
    select
        member_id,
        union_id,
        id_type,
        gender,
        birth_date,
        ethnicity_code,
        education,
        hukou_type,
        from_outside_beijing as is_from_outside_beijing,
        employment_form,
        new_form_type,
        platform_name,
        skill_level,
        status as member_status,
        joined_on,
        id_valid as is_id_number_valid,
        phone_valid as is_phone_valid,
        created_at,
        updated_at,
        _loaded_at as loaded_at,
        _is_deleted as is_deleted,
        _deleted_at as deleted_at
    from source
),

final as (
    select * from renamed
)

select * from final
