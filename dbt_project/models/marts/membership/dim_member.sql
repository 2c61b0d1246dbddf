-- Grain: one row per member version (SCD type 2, int_members_historized), valid on
-- [valid_from, valid_to), plus the "unknown" row for facts whose member is not (yet) known.
-- member_key = md5(member_id, valid_from). Pseudonymous: no name, no ID-number or phone
-- pseudonym, birth year not birth date; age band as of the build date.
--
-- Incremental (replace_keys on member_id): a run relabels every version of each member a
-- load it has not processed wrote a version of or tombstoned, and of each member whose age
-- band moved since the model last ran (a birthday crossed a band's edge; the day before that
-- run is taken as well, so a run near midnight misses none).

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_membership__member_versions') }}

{{ replace_keys_config('member_id', ['membership']) }}
{%- set membership = load_state(['membership']) %}
{%- set loads = membership.loads %}
{%- set last_built_on = last_built_on() %}

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

{% if is_incremental() %}

    deletions as (
        select * from {{ ref('stg_services__deletions') }}
    ),

    member_version_history as (
        select * from {{ ref('stg_membership__member_versions') }}
    ),

    revisited as (
        {{ loaded_keys(
            'member_version_history', 'deletions', 'member_id', 'membership', 'member', loads
        ) }}
        {%- if last_built_on %}
            {%- set age_then = age_years(
                'birth_date', "date '" ~ last_built_on ~ "' - interval '1 day'"
            ) %}
            {%- set age_now = age_years('birth_date') %}
            union
            -- a band moves only with the age: comparing the ages first spares the bands'
            -- case ladders, which repeat the age per branch, for all but a day's birthdays
            select member_id
            from member_versions
            where
                {{ age_then }} is distinct from {{ age_now }}
                and {{ age_band(age_then) }} is distinct from {{ age_band(age_now) }}
        {%- else %}
            union
            select member_id from member_versions
        {%- endif %}
        {%- if membership.redefined %}
            union
            select 'UNKNOWN' as member_id
        {%- endif %}
    ),

{% endif %}

labelled_versions as (
    {{ revisited_rows('member_versions', 'member_id', is_incremental()) }}
),

labelled as (
    select
        {{ surrogate_key(['labelled_versions.member_id', 'labelled_versions.valid_from']) }}
            as member_key,
        labelled_versions.member_id,
        labelled_versions.version_number,
        labelled_versions.valid_from,
        labelled_versions.valid_to,
        labelled_versions.is_current,
        labelled_versions.is_deleted,
        labelled_versions.union_id,
        labelled_versions.id_type,
        id_types.label_zh as id_type_label_zh,
        id_types.label_en as id_type_label_en,
        labelled_versions.gender,
        genders.label_zh as gender_label_zh,
        genders.label_en as gender_label_en,
        labelled_versions.birth_year,
        {{ age_band(age_years('labelled_versions.birth_date')) }} as age_band,
        labelled_versions.ethnicity_code,
        ethnicities.name_zh as ethnicity_name_zh,
        ethnicities.name_en as ethnicity_name_en,
        labelled_versions.education,
        educations.label_zh as education_label_zh,
        educations.label_en as education_label_en,
        labelled_versions.hukou_type,
        hukou_types.label_zh as hukou_type_label_zh,
        hukou_types.label_en as hukou_type_label_en,
        labelled_versions.is_from_outside_beijing,
        labelled_versions.employment_form,
        employment_forms.label_zh as employment_form_label_zh,
        employment_forms.label_en as employment_form_label_en,
        labelled_versions.is_new_form,
        labelled_versions.new_form_type,
        new_form_types.label_zh as new_form_type_label_zh,
        new_form_types.label_en as new_form_type_label_en,
        labelled_versions.platform_name,
        labelled_versions.skill_level,
        skill_levels.label_zh as skill_level_label_zh,
        skill_levels.label_en as skill_level_label_en,
        labelled_versions.member_status,
        member_statuses.label_zh as member_status_label_zh,
        member_statuses.label_en as member_status_label_en,
        labelled_versions.joined_on,
        labelled_versions.is_id_number_valid,
        labelled_versions.is_phone_valid,
        labelled_versions.is_gender_consistent_with_id,
        false as is_unknown
    from labelled_versions
    left join ethnicities
        on labelled_versions.ethnicity_code = ethnicities.ethnicity_code
    left join enumerations as id_types
        on id_types.domain = 'id_type' and labelled_versions.id_type = id_types.code
    left join enumerations as genders
        on genders.domain = 'gender' and labelled_versions.gender = genders.code
    left join enumerations as educations
        on educations.domain = 'education' and labelled_versions.education = educations.code
    left join enumerations as hukou_types
        on hukou_types.domain = 'hukou_type' and labelled_versions.hukou_type = hukou_types.code
    left join enumerations as employment_forms
        on
            employment_forms.domain = 'employment_form'
            and labelled_versions.employment_form = employment_forms.code
    left join enumerations as new_form_types
        on
            new_form_types.domain = 'new_form_type'
            and labelled_versions.new_form_type = new_form_types.code
    left join enumerations as skill_levels
        on
            skill_levels.domain = 'skill_level'
            and cast(labelled_versions.skill_level as {{ dbt.type_string() }}) = skill_levels.code
    left join enumerations as member_statuses
        on
            member_statuses.domain = 'member_status'
            and labelled_versions.member_status = member_statuses.code
),

with_unknown_row as (
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
),

-- The unknown row is the full build's; an incremental run revisits it only when the model's
-- definition changed.
kept as (
    {{ revisited_rows('with_unknown_row', 'member_id', is_incremental()) }}
),

{{ replace_keys_final('kept', 'member_id', is_incremental()) }}

select * from final
