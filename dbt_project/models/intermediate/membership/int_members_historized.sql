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

deletions as (
    select
        member_id,
        _deleted_at as deleted_at
    from current_members
    where _is_deleted
),

distinct_versions as (
    select * from member_versions
    qualify row_number() over (
        partition by member_id, updated_at
        order by _load_id desc, _source_file desc nulls last, _source_line desc nulls last
    ) = 1
),

sequenced as (
    select
        *,
        cast(date_part('year', age(current_date, birth_date)) as integer) as age_years,
        row_number() over (partition by member_id order by updated_at) as version_number,
        lead(updated_at) over (partition by member_id order by updated_at) as next_updated_at
    from distinct_versions
),

versioned as (
    select
        sequenced.*,
        deletions.deleted_at,
        deletions.member_id is not null as is_deleted,
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
        sequenced.next_updated_at is null and deletions.member_id is null as is_current,
        year(sequenced.birth_date) as birth_year,
        case
            when sequenced.age_years < 25 then '<25'
            when sequenced.age_years < 35 then '25-34'
            when sequenced.age_years < 45 then '35-44'
            when sequenced.age_years < 55 then '45-54'
            when sequenced.age_years < 65 then '55-64'
            when sequenced.age_years >= 65 then '65+'
        end as age_band,
        sequenced.employment_form = 'NEW_FORM' as is_new_form,
        sequenced.gender = sequenced.id_gender as is_gender_consistent_with_id
    from sequenced
    left join deletions
        on sequenced.member_id = deletions.member_id
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
    from versioned
)

select * from final
