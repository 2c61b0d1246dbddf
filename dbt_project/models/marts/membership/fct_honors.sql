-- Grain: one row per honor (honor_id) as the source shows it now; revoked honors stay,
-- flagged (they count nowhere). union_key / member_key are the SCD2 versions in effect at the
-- end of awarded_on; a team or unit award has no member and links to the "unknown" member.
-- district_code is that of the honor's union as the source knows it now.

with

honors as (
    select * from {{ ref('stg_membership__honors') }}
),

unions as (
    select * from {{ ref('stg_membership__unions') }}
),

member_versions as (
    {{ known_rows('dim_member') }}
),

union_versions as (
    {{ known_rows('dim_union') }}
),

known_districts as (
    {{ known_rows('dim_district') }}
),

dated_honors as (
    select
        *,
        cast(awarded_on as timestamp) + interval '1 day' as as_of
    from honors
),

final as (
    select
        dated_honors.honor_id,
        dated_honors.awarded_on,
        {{ date_key('dated_honors.awarded_on') }} as awarded_date_key,
        coalesce(union_versions.union_key, {{ unknown_key() }}) as union_key,
        coalesce(member_versions.member_key, {{ unknown_key() }}) as member_key,
        coalesce(known_districts.district_key, {{ unknown_key() }}) as district_key,
        coalesce(unions.district_code, 'UNKNOWN') as district_code,
        dated_honors.honor_type,
        dated_honors.honor_type_label_zh,
        dated_honors.honor_type_label_en,
        dated_honors.honor_level,
        dated_honors.honor_level_label_zh,
        dated_honors.honor_level_label_en,
        dated_honors.team_name,
        dated_honors.member_id is not null as is_personal_award,
        dated_honors.is_revoked,
        dated_honors.is_municipal_or_above,
        not dated_honors.is_revoked and dated_honors.is_municipal_or_above as is_report_counted
    from dated_honors
    {{ scd2_as_of_join(
        'member_versions',
        'member_id',
        'dated_honors.member_id',
        'dated_honors.as_of'
    ) }}
    {{ scd2_as_of_join(
        'union_versions',
        'union_id',
        'dated_honors.union_id',
        'dated_honors.as_of'
    ) }}
    left join unions
        on dated_honors.union_id = unions.union_id
    left join known_districts
        on unions.district_code = known_districts.district_code
)

select * from final
