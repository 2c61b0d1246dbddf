-- Grain: one row per member × day on which the member's membership state changed. The state
-- is the one left by the member's last event of that day (by recorded_at, then event_id) and
-- holds on [state_from, state_to): until the member's next event day, or open (null) if none.
-- KPIS.md's members_active_end counts, at a period's last day, the members whose state
-- interval covers that day with is_in_union; district is that of the event's own union
-- (null when the union is not, or no longer, known).
--
-- Incremental (replace_keys on member_id): a run recomputes every interval of each member
-- that a load it has not processed touched: a live event of the member written, an event
-- that was the member's last of a day deleted or moved to another member, or a change of a
-- union one of the member's intervals is in (its district). An event that was not its
-- day's last changes no interval when it goes.

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_membership__member_versions') }}
-- depends_on: {{ ref('stg_membership__union_versions') }}

{{ replace_keys_config('member_id', ['membership']) }}
{%- set loads = unseen_loads(['membership']) %}

with

events as (
    select * from {{ ref('stg_membership__membership_events') }}
),

unions as (
    select * from {{ ref('stg_membership__unions') }}
),

{% if is_incremental() %}

    {{ membership_changes_ctes(loads) }}

    intervals_before as (
        select * from {{ this }}
    ),

    revisited as (
        select member_id from loaded_events
        union
        select intervals_before.member_id
        from intervals_before
        where
            intervals_before.event_id in (
                select loaded_events.event_id from loaded_events
                union all
                select tombstoned_events.event_id from tombstoned_events
            )
            or intervals_before.union_id in (select changed_unions.union_id from changed_unions)
    ),

{% endif %}

revisited_events as (
    {{ revisited_rows('events', 'member_id', is_incremental()) }}
),

ranked_events as (
    select
        *,
        row_number() over (
            partition by member_id, event_date
            order by recorded_at desc, event_id desc
        ) as rank_in_day
    from revisited_events
),

last_event_per_day as (
    select * from ranked_events
    where rank_in_day = 1
),

intervals as (
    select
        member_id,
        event_date as state_from,
        event_id,
        event_type,
        union_id,
        employment_form,
        is_in_union_after as is_in_union,
        lead(event_date) over (partition by member_id order by event_date) as state_to
    from last_event_per_day
),

intervalized as (
    select
        intervals.member_id,
        intervals.state_from,
        intervals.state_to,
        intervals.event_id,
        intervals.event_type,
        intervals.is_in_union,
        intervals.union_id,
        unions.district_code,
        intervals.employment_form
    from intervals
    left join unions
        on intervals.union_id = unions.union_id
),

{{ replace_keys_final('intervalized', 'member_id', is_incremental()) }}

select * from final
