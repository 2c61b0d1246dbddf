-- One row per member (会员) as the membership system shows it now; members hard-deleted at the
-- source are dropped. Pseudonymous: no name, and neither the ID-number nor the phone
-- pseudonym, only whether each was valid. Age is as of the build date.

with

members as (
    select * from {{ source('membership', 'member') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

ethnicities as (
    select * from {{ ref('ethnicities') }}
),

live_members as (
    select * from members
    where not _is_deleted
),

renamed as (
    select
        member_id,
        union_id,
        id_type,
        gender,
        birth_date,
        {{ age_years('birth_date') }} as age_years,
        ethnicity_code,
        education,
        hukou_type,
        from_outside_beijing as is_from_outside_beijing,
        employment_form,
        new_form_type,
        platform_name,
        cast(skill_level as integer) as skill_level,
        status as member_status,
        joined_on,
        id_valid as is_id_number_valid,
        phone_valid as is_phone_valid,
        created_at,
        updated_at,
        _loaded_at as loaded_at,
        {{ date_part_number('year', 'birth_date') }} as birth_year,
        employment_form = 'NEW_FORM' as is_new_form,
        gender = id_gender as is_gender_consistent_with_id
    from live_members
),

banded as (
    select
        *,
        case
            when age_years < 25 then '<25'
            when age_years < 35 then '25-34'
            when age_years < 45 then '35-44'
            when age_years < 55 then '45-54'
            when age_years < 65 then '55-64'
            when age_years >= 65 then '65+'
        end as age_band
    from renamed
),

final as (
    select
        banded.*,
        genders.label_zh as gender_label_zh,
        genders.label_en as gender_label_en,
        ethnicities.name_zh as ethnicity_name_zh,
        ethnicities.name_en as ethnicity_name_en,
        educations.label_zh as education_label_zh,
        educations.label_en as education_label_en,
        hukou_types.label_zh as hukou_type_label_zh,
        hukou_types.label_en as hukou_type_label_en,
        employment_forms.label_zh as employment_form_label_zh,
        employment_forms.label_en as employment_form_label_en,
        new_form_types.label_zh as new_form_type_label_zh,
        new_form_types.label_en as new_form_type_label_en,
        skill_levels.label_zh as skill_level_label_zh,
        skill_levels.label_en as skill_level_label_en,
        member_statuses.label_zh as member_status_label_zh,
        member_statuses.label_en as member_status_label_en
    from banded
    left join ethnicities
        on banded.ethnicity_code = ethnicities.ethnicity_code
    left join enumerations as genders
        on genders.domain = 'gender' and banded.gender = genders.code
    left join enumerations as educations
        on educations.domain = 'education' and banded.education = educations.code
    left join enumerations as hukou_types
        on hukou_types.domain = 'hukou_type' and banded.hukou_type = hukou_types.code
    left join enumerations as employment_forms
        on
            employment_forms.domain = 'employment_form'
            and banded.employment_form = employment_forms.code
    left join enumerations as new_form_types
        on new_form_types.domain = 'new_form_type' and banded.new_form_type = new_form_types.code
    left join enumerations as skill_levels
        on
            skill_levels.domain = 'skill_level'
            and cast(banded.skill_level as {{ dbt.type_string() }}) = skill_levels.code
    left join enumerations as member_statuses
        on member_statuses.domain = 'member_status' and banded.member_status = member_statuses.code
)

select * from final
