-- Grain: one row per union version (SCD type 2) from every committed version of union_org.
-- A version is valid on [valid_from, valid_to): valid_from is the source's updated_at (the
-- first version reaches back to 1900-01-01, so the union is known as of any earlier date),
-- valid_to the next version's updated_at, the load that noticed a hard delete (deleted_at)
-- for the last version of a deleted union, or 9999-12-31 while current. Versions with equal
-- updated_at collapse to the one committed last, as in raw.union_org_current.
--
-- Incremental (replace_keys on union_id): a run recomputes the whole history of every union
-- a load it has not processed wrote a version of or tombstoned, and replaces it.

-- depends_on: {{ ref('stg_services__deletions') }} (read by incremental runs only)

{{ replace_keys_config('union_id', ['membership']) }}
{%- set loads = unseen_loads(['membership']) %}

with

union_versions as (
    select * from {{ ref('stg_membership__union_versions') }}
),

unions as (
    select * from {{ ref('base_membership__unions') }}
),

{{ scd2_versions_ctes(
    'union_versions', 'unions', 'union_id', 'membership', 'union_org', loads,
    is_incremental()
) }}

historized as (
    select
        union_id,
        version_number,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        deleted_at,
        union_uscc,
        has_valid_uscc,
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
        union_status,
        dissolved_on,
        created_at,
        updated_at,
        load_id
    from versioned
),

{{ replace_keys_final('historized', 'union_id', is_incremental()) }}

select * from final
