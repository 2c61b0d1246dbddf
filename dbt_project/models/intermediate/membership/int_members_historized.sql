-- Grain: one row per member version (SCD type 2) from every committed version of member, so a
-- member's union, employment form and status are known as of any date. A version is valid on
-- [valid_from, valid_to): valid_from is the source's updated_at (the first version reaches
-- back to 1900-01-01), valid_to the next version's updated_at, the load that noticed a hard
-- delete (deleted_at) for the last version of a deleted member, or 9999-12-31 while current.
-- Versions with equal updated_at collapse to the one committed last, as in
-- raw.member_current. Pseudonymous: no ID-number or phone pseudonyms, only validity flags.
-- The birth date stays (not an age: a stored age would go stale in rows an incremental run
-- does not revisit); dim_member derives the age band as of its build date.
--
-- Incremental (replace_keys on member_id): a run recomputes the whole history of every
-- member a load it has not processed wrote a version of or tombstoned, and replaces it.

-- depends_on: {{ ref('stg_services__deletions') }} (read by incremental runs only)

{{ replace_keys_config('member_id', ['membership']) }}
{%- set loads = unseen_loads(['membership']) %}

with

member_versions as (
    select * from {{ ref('stg_membership__member_versions') }}
),

members as (
    select * from {{ ref('base_membership__members') }}
),

{{ scd2_versions_ctes(
    'member_versions', 'members', 'member_id', 'membership', 'member', loads,
    is_incremental()
) }}

historized as (
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
        birth_date,
        birth_year,
        ethnicity_code,
        education,
        hukou_type,
        is_from_outside_beijing,
        employment_form,
        is_new_form,
        new_form_type,
        platform_name,
        skill_level,
        member_status,
        joined_on,
        is_id_number_valid,
        is_phone_valid,
        is_gender_consistent_with_id,
        created_at,
        updated_at,
        load_id
    from versioned
),

{{ replace_keys_final('historized', 'member_id', is_incremental()) }}

select * from final
