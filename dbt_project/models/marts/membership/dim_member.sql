-- Grain: one row per member version (SCD type 2, int_members_historized), valid on
-- [valid_from, valid_to), plus the "unknown" row for facts whose member is not (yet) known.
-- member_key = md5(member_id, valid_from). Pseudonymous: no name, no ID-number or phone
-- pseudonym, birth year not birth date; age band as of the build date.

with

member_versions as (
    select * from {{ ref('int_members_historized') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

ethnicities as (
    select * from {{ ref('ethnicities') }}
),

labelled as (
    select
        {{ surrogate_key(['member_versions.member_id', 'member_versions.valid_from']) }}
            as member_key,
        member_versions.member_id,
        member_versions.version_number,
        member_versions.valid_from,
        member_versions.valid_to,
        member_versions.is_current,
        member_versions.is_deleted,
        member_versions.union_id,
        member_versions.id_type,
        id_types.label_zh as id_type_label_zh,
        id_types.label_en as id_type_label_en,
        member_versions.gender,
        genders.label_zh as gender_label_zh,
        genders.label_en as gender_label_en,
        member_versions.birth_year,
        {{ age_band(age_years('member_versions.birth_date')) }} as age_band,
        member_versions.ethnicity_code,
        ethnicities.name_zh as ethnicity_name_zh,
        ethnicities.name_en as ethnicity_name_en,
        member_versions.education,
        educations.label_zh as education_label_zh,
        educations.label_en as education_label_en,
        member_versions.hukou_type,
        hukou_types.label_zh as hukou_type_label_zh,
        hukou_types.label_en as hukou_type_label_en,
        member_versions.is_from_outside_beijing,
        member_versions.employment_form,
        employment_forms.label_zh as employment_form_label_zh,
        employment_forms.label_en as employment_form_label_en,
        member_versions.is_new_form,
        member_versions.new_form_type,
        new_form_types.label_zh as new_form_type_label_zh,
        new_form_types.label_en as new_form_type_label_en,
        member_versions.platform_name,
        member_versions.skill_level,
        skill_levels.label_zh as skill_level_label_zh,
        skill_levels.label_en as skill_level_label_en,
        member_versions.member_status,
        member_statuses.label_zh as member_status_label_zh,
        member_statuses.label_en as member_status_label_en,
        member_versions.joined_on,
        member_versions.is_id_number_valid,
        member_versions.is_phone_valid,
        member_versions.is_gender_consistent_with_id,
        false as is_unknown
    from member_versions
    left join ethnicities
        on member_versions.ethnicity_code = ethnicities.ethnicity_code
    left join enumerations as id_types
        on id_types.domain = 'id_type' and member_versions.id_type = id_types.code
    left join enumerations as genders
        on genders.domain = 'gender' and member_versions.gender = genders.code
    left join enumerations as educations
        on educations.domain = 'education' and member_versions.education = educations.code
    left join enumerations as hukou_types
        on hukou_types.domain = 'hukou_type' and member_versions.hukou_type = hukou_types.code
    left join enumerations as employment_forms
        on
            employment_forms.domain = 'employment_form'
            and member_versions.employment_form = employment_forms.code
    left join enumerations as new_form_types
        on
            new_form_types.domain = 'new_form_type'
            and member_versions.new_form_type = new_form_types.code
    left join enumerations as skill_levels
        on
            skill_levels.domain = 'skill_level'
            and cast(member_versions.skill_level as {{ dbt.type_string() }}) = skill_levels.code
    left join enumerations as member_statuses
        on
            member_statuses.domain = 'member_status'
            and member_versions.member_status = member_statuses.code
),

final as (
    {{ union_unknown_row('labelled', {
        'member_key': unknown_key(),
        'member_id': "'UNKNOWN'",
        'version_number': '1',
        'valid_from': "timestamp '1900-01-01'",
        'valid_to': "timestamp '9999-12-31'",
        'is_current': 'true',
        'is_deleted': 'false',
        'is_unknown': 'true'
    }, columns=[
        'member_key', 'member_id', 'version_number', 'valid_from', 'valid_to', 'is_current',
        'is_deleted', 'union_id', 'id_type', 'id_type_label_zh', 'id_type_label_en', 'gender',
        'gender_label_zh', 'gender_label_en', 'birth_year', 'age_band', 'ethnicity_code',
        'ethnicity_name_zh', 'ethnicity_name_en', 'education', 'education_label_zh',
        'education_label_en', 'hukou_type', 'hukou_type_label_zh', 'hukou_type_label_en',
        'is_from_outside_beijing', 'employment_form', 'employment_form_label_zh',
        'employment_form_label_en', 'is_new_form', 'new_form_type', 'new_form_type_label_zh',
        'new_form_type_label_en', 'platform_name', 'skill_level', 'skill_level_label_zh',
        'skill_level_label_en', 'member_status', 'member_status_label_zh', 'member_status_label_en',
        'joined_on', 'is_id_number_valid', 'is_phone_valid', 'is_gender_consistent_with_id',
        'is_unknown',
    ]) }}
)

select * from final
