-- One row per committed version of a member (source member_history: every version every
-- load wrote, resends included), the input of the SCD2 history (int_members_historized).
-- Pseudonymous: no name, and neither the ID-number nor the phone pseudonym, only whether each
-- was valid; the birth date stays here (marts keep the birth year). Age and age band are as
-- of the build date. The raw load stamps are kept (load_id, source_file, source_line): they
-- order versions with equal updated_at.

with

source as (
    select * from {{ source('membership', 'member_history') }}
),

renamed as (
    select
        member_id,
        union_id,
        id_type,
        gender,
        birth_date,
        {{ age_years('birth_date') }} as age_years,
        {{ date_part_number('year', 'birth_date') }} as birth_year,
        ethnicity_code,
        education,
        hukou_type,
        from_outside_beijing as is_from_outside_beijing,
        employment_form,
        employment_form = 'NEW_FORM' as is_new_form,
        new_form_type,
        platform_name,
        skill_level,
        status as member_status,
        joined_on,
        id_valid as is_id_number_valid,
        phone_valid as is_phone_valid,
        gender = id_gender as is_gender_consistent_with_id,
        created_at,
        updated_at,
        _load_id as load_id,
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at
    from source
),

banded as (
    select
        *,
        {{ age_band('age_years') }} as age_band
    from renamed
),

final as (
    select * from banded
)

select * from final
