-- Grain: one row per membership event (event_id), events of deleted members excluded.
-- member_key / union_key / counterpart_union_key are the SCD2 versions in effect at the end of
-- the event date (valid_from < event_date + 1 day <= valid_to); a natural key with no version
-- then links to the "unknown" row. district_code is that of the event's own union as the
-- source knows it now (KPIS.md: new_members), 'UNKNOWN' when the union is not known.
--
-- Incremental (replace_keys on event_id): a run recomputes each event that a load it has not
-- processed wrote or deleted, and each event of a member or union (own or counterpart) such
-- a load changed: their versions, hence the keys in effect at the event, and the union's
-- district may have moved.

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_membership__member_versions') }}
-- depends_on: {{ ref('stg_membership__union_versions') }}

{{ replace_keys_config('event_id', ['membership']) }}
{%- set loads = unseen_loads(['membership']) %}

with

events as (
    select * from {{ ref('stg_membership__membership_events') }}
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

{% if is_incremental() %}

    {{ membership_changes_ctes(loads) }}

    revisited as (
        select event_id from loaded_events
        union
        select event_id from tombstoned_events
        union
        select event_id
        from events
        where
            member_id in (select changed_members.member_id from changed_members)
            or union_id in (select changed_unions.union_id from changed_unions)
            or counterpart_union_id in (select changed_unions.union_id from changed_unions)
    ),

{% endif %}

revisited_events as (
    {{ revisited_rows('events', 'event_id', is_incremental()) }}
),

dated_events as (
    select
        *,
        cast(event_date as timestamp) + interval '1 day' as as_of
    from revisited_events
),

linked as (
    select
        dated_events.event_id,
        dated_events.event_date,
        {{ date_key('dated_events.event_date') }} as event_date_key,
        dated_events.recorded_at,
        coalesce(member_versions.member_key, {{ unknown_key() }}) as member_key,
        coalesce(union_versions.union_key, {{ unknown_key() }}) as union_key,
        coalesce(counterpart_versions.union_key, {{ unknown_key() }}) as counterpart_union_key,
        coalesce(known_districts.district_key, {{ unknown_key() }}) as district_key,
        coalesce(unions.district_code, 'UNKNOWN') as district_code,
        dated_events.event_type,
        dated_events.event_type_label_zh,
        dated_events.event_type_label_en,
        dated_events.join_channel,
        dated_events.join_channel_label_zh,
        dated_events.join_channel_label_en,
        dated_events.employment_form,
        dated_events.is_new_form,
        dated_events.event_type = 'JOIN' as is_join,
        dated_events.is_in_union_after
    from dated_events
    {{ scd2_as_of_join(
        'member_versions',
        'member_id',
        'dated_events.member_id',
        'dated_events.as_of'
    ) }}
    {{ scd2_as_of_join(
        'union_versions',
        'union_id',
        'dated_events.union_id',
        'dated_events.as_of'
    ) }}
    {{ scd2_as_of_join(
        'union_versions',
        'union_id',
        'dated_events.counterpart_union_id',
        'dated_events.as_of',
        alias='counterpart_versions'
    ) }}
    left join unions
        on dated_events.union_id = unions.union_id
    left join known_districts
        on unions.district_code = known_districts.district_code
),

{{ replace_keys_final('linked', 'event_id', is_incremental()) }}

select * from final
