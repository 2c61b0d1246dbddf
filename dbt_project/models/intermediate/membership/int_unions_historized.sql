-- Grain: one row per union version (SCD type 2) from every committed version of union_org.
-- A version is valid on [valid_from, valid_to): valid_from is the source's updated_at (the
-- first version reaches back to 1900-01-01, so the union is known as of any earlier date),
-- valid_to the next version's updated_at, the load that noticed a hard delete (_deleted_at)
-- for the last version of a deleted union, or 9999-12-31 while current. Versions with equal
-- updated_at collapse to the one committed last, as in raw.union_org_current.

with

union_versions as (
    select * from {{ source('membership', 'union_org_history') }}
),

current_unions as (
    select * from {{ source('membership', 'union_org') }}
),

deletions as (
    select
        union_id,
        _deleted_at as deleted_at
    from current_unions
    where _is_deleted
),

distinct_versions as (
    select * from union_versions
    qualify row_number() over (
        partition by union_id, updated_at
        order by _load_id desc, _source_file desc nulls last, _source_line desc nulls last
    ) = 1
),

sequenced as (
    select
        *,
        row_number() over (partition by union_id order by updated_at) as version_number,
        lead(updated_at) over (partition by union_id order by updated_at) as next_updated_at
    from distinct_versions
),

versioned as (
    select
        sequenced.*,
        deletions.deleted_at,
        deletions.union_id is not null as is_deleted,
        case
            when sequenced.version_number = 1 then timestamp '1900-01-01'
            else sequenced.updated_at
        end as valid_from,
        coalesce(
            sequenced.next_updated_at,
            case
                when deletions.deleted_at is not null
                    then greatest(deletions.deleted_at, sequenced.updated_at)
            end,
            timestamp '9999-12-31'
        ) as valid_to,
        sequenced.next_updated_at is null and deletions.union_id is null as is_current,
        not list_contains(sequenced._quality_flags, 'invalid_uscc_check') as has_valid_uscc
    from sequenced
    left join deletions
        on sequenced.union_id = deletions.union_id
),

final as (
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
        status as union_status,
        dissolved_on,
        created_at,
        updated_at,
        _load_id as load_id
    from versioned
)

select * from final
