-- Grain: one row per member × day on which the member's membership state changed. The state
-- is the one left by the member's last event of that day (by recorded_at, then event_id) and
-- holds on [state_from, state_to): until the member's next event day, or open (null) if none.
-- KPIS.md's members_active_end counts, at a period's last day, the members whose state
-- interval covers that day with is_in_union; district is that of the event's own union
-- (null when the union is not, or no longer, known).

with

events as (
    select * from {{ ref('stg_membership__membership_events') }}
),

unions as (
    select * from {{ ref('stg_membership__unions') }}
),

ranked_events as (
    select
        *,
        row_number() over (
            partition by member_id, event_date
            order by recorded_at desc, event_id desc
        ) as rank_in_day
    from events
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

final as (
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
)

select * from final
