-- Grain: one row per member version (SCD type 2) from every committed version of member, so a
-- member's union, employment form and status are known as of any date. A version is valid on
-- [valid_from, valid_to): valid_from is the source's updated_at (the first version reaches
-- back to 1900-01-01), valid_to the next version's updated_at, the load that noticed a hard
-- delete (_deleted_at) for the last version of a deleted member, or 9999-12-31 while current.
-- Versions with equal updated_at collapse to the one committed last, as in
-- raw.member_current. Pseudonymous: no ID-number or phone pseudonyms, only validity flags;
-- age is as of the build date.

with

member_versions as (
    select * from {{ source('membership', 'member_history') }}
),

current_members as (
    select * from {{ source('membership', 'member') }}
),

versioned as (
    {{ scd2_versions('member_versions', 'current_members', 'member_id') }}
),

aged as (
    select
        *,
        {{ age_years('birth_date') }} as age_years
    from versioned
),

derived as (
    select
        *,
        {{ date_part_number('year', 'birth_date') }} as birth_year,
        case
            when age_years < 25 then '<25'
            when age_years < 35 then '25-34'
            when age_years < 45 then '35-44'
            when age_years < 55 then '45-54'
            when age_years < 65 then '55-64'
            when age_years >= 65 then '65+'
        end as age_band,
        employment_form = 'NEW_FORM' as is_new_form,
        gender = id_gender as is_gender_consistent_with_id
    from aged
),

final as (
    select
        member_id,
        version_number,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        deleted_at,
        union_id,
        id_type,
        gender,
        birth_year,
        age_band,
        ethnicity_code,
        education,
        hukou_type,
        from_outside_beijing as is_from_outside_beijing,
        employment_form,
        is_new_form,
        new_form_type,
        platform_name,
        skill_level,
        status as member_status,
        joined_on,
        id_valid as is_id_number_valid,
        phone_valid as is_phone_valid,
        is_gender_consistent_with_id,
        created_at,
        updated_at,
        _load_id as load_id
    from derived
)

select * from final
