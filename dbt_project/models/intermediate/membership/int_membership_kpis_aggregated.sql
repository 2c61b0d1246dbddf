-- Grain: one row per membership KPI × period of int_kpi_periods × district ('ALL' and each
-- district of ref('districts'); 'ALL' only for the catalogue's city_only KPIs), zero-filled.
-- Flow KPIs count records dated in the period: new_single_unions (SINGLE unions by
-- founded_on, district of the union), new_members / new_members_new_form (JOIN events by
-- event_date, district of the event's own union), labour_certificates / labour_medals /
-- worker_pioneers (non-revoked MUNICIPAL or NATIONAL honors by awarded_on, city only).
-- The stock KPI members_active_end counts members whose state on the period's last day
-- (int_member_states_intervalized) is in a union, by the district of that state's union.
-- Records whose union is not known count in 'ALL' only.
--
-- Incremental (replace_keys on period_start, macros/incremental/revisited_periods.sql): a
-- run recomputes the periods holding a date of any version of an event, union or honor the
-- unseen loads wrote or tombstoned, of every event in a union that changed (its district
-- places them), the periods the grid gained or lost, and, for members_active_end, every
-- period ending on or after the earliest day a member's state may have changed (a changed
-- event's, or a changed union's first event's).

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_membership__membership_event_versions') }}
-- depends_on: {{ ref('stg_membership__union_versions') }}
-- depends_on: {{ ref('stg_membership__honor_versions') }}

{{ replace_keys_config('period_start', ['membership']) }}
{%- set loads = unseen_loads(['membership']) %}

with

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

districts as (
    select * from {{ ref('districts') }}
),

kpi_catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

unions as (
    select * from {{ ref('stg_membership__unions') }}
),

events as (
    select * from {{ ref('stg_membership__membership_events') }}
),

honors as (
    select * from {{ ref('stg_membership__honors') }}
),

member_states as (
    select * from {{ ref('int_member_states_intervalized') }}
),

{% if is_incremental() %}

    deletions as (
        select * from {{ ref('stg_services__deletions') }}
    ),

    event_versions as (
        select * from {{ ref('stg_membership__membership_event_versions') }}
    ),

    union_versions as (
        select * from {{ ref('stg_membership__union_versions') }}
    ),

    honor_versions as (
        select * from {{ ref('stg_membership__honor_versions') }}
    ),

    changed_events as (
        {{ loaded_keys(
            'event_versions', 'deletions', 'event_id', 'membership', 'membership_event', loads
        ) }}
    ),

    changed_unions as (
        {{ loaded_keys(
            'union_versions', 'deletions', 'union_id', 'membership', 'union_org', loads
        ) }}
    ),

    changed_honors as (
        {{ loaded_keys('honor_versions', 'deletions', 'honor_id', 'membership', 'honor', loads) }}
    ),

    -- Days from which a member's state may differ: every version of a changed event, and
    -- every event in a changed union (the union's district places the states it opens).
    state_change_dates as (
        select event_date as record_date from event_versions
        where event_id in (select changed_events.event_id from changed_events)
        union all
        select event_date as record_date from events
        where union_id in (select changed_unions.union_id from changed_unions)
    ),

    changed_dates as (
        select record_date from state_change_dates
        union all
        select founded_on as record_date from union_versions
        where union_id in (select changed_unions.union_id from changed_unions)
        union all
        select awarded_on as record_date from honor_versions
        where honor_id in (select changed_honors.honor_id from changed_honors)
    ),

    revisited as (
        {{ period_starts_of('changed_dates') }}
        union
        {{ regridded_period_starts() }}
        union
        -- A stock as of a period's last day changes with any state change on or before it.
        select period_start from periods
        where period_end >= (select min(state_change_dates.record_date) from state_change_dates)
    ),

{% endif %}

revisited_periods as (
    {{ revisited_rows('periods', 'period_start', is_incremental()) }}
),

spine as (
    {{ kpi_spine([
        'new_single_unions',
        'new_members',
        'new_members_new_form',
        'members_active_end',
        'labour_certificates',
        'labour_medals',
        'worker_pioneers',
    ], periods='revisited_periods') }}
),

joins as (
    select
        events.event_date,
        events.is_new_form,
        unions.district_code
    from events
    left join unions
        on events.union_id = unions.union_id
    where events.event_type = 'JOIN'
),

counted_records as (
    select
        'new_single_unions' as kpi_code,
        founded_on as record_date,
        district_code
    from unions
    where union_type = 'SINGLE'
    union all
    select
        'new_members' as kpi_code,
        event_date as record_date,
        district_code
    from joins
    union all
    select
        'new_members_new_form' as kpi_code,
        event_date as record_date,
        district_code
    from joins
    where is_new_form
    union all
    select
        case honor_type
            when 'LABOUR_CERTIFICATE' then 'labour_certificates'
            when 'LABOUR_MEDAL' then 'labour_medals'
            when 'WORKER_PIONEER' then 'worker_pioneers'
        end as kpi_code,
        awarded_on as record_date,
        cast(null as {{ dbt.type_string() }}) as district_code
    from honors
    where
        not is_revoked
        and is_municipal_or_above
        and honor_type in ('LABOUR_CERTIFICATE', 'LABOUR_MEDAL', 'WORKER_PIONEER')
),

-- The records of the periods this run computes (on a full build, every period of the grid).
records_by_period as (
    {{ records_in_periods('counted_records', 'record_date', ['kpi_code', 'district_code']) }}
),

-- The city total ('ALL') is the grouping set without district_code. It is labelled in the
-- next CTE: an output column named like a grouping column hides it from grouping() in
-- HAVING on Spark.
flow_counts as (
    select
        kpi_code,
        period_grain,
        period_start,
        district_code,
        grouping(district_code) = 1 as is_city_total,
        count(*) as value  -- noqa: RF04
    from records_by_period
    group by
        grouping sets (
            (kpi_code, period_grain, period_start, district_code),
            (kpi_code, period_grain, period_start)
        )
),

flow_values as (
    select
        kpi_code,
        period_grain,
        period_start,
        case when is_city_total then 'ALL' else district_code end as district_code,
        value
    from flow_counts
    where is_city_total or district_code is not null
),

in_union_states as (
    select * from member_states
    where is_in_union
),

membership_changes as (
    select
        district_code,
        state_from as change_date,
        1 as delta
    from in_union_states
    union all
    select
        district_code,
        state_to as change_date,
        -1 as delta
    from in_union_states
    where state_to is not null
),

daily_change_sums as (
    select
        change_date,
        district_code,
        grouping(district_code) = 1 as is_city_total,
        sum(delta) as delta
    from membership_changes
    group by grouping sets ((district_code, change_date), (change_date))
),

daily_changes as (
    select
        change_date,
        delta,
        case when is_city_total then 'ALL' else district_code end as district_code
    from daily_change_sums
    where is_city_total or district_code is not null
),

active_member_counts as (
    select
        district_code,
        change_date as counted_from,
        lead(change_date) over (
            partition by district_code order by change_date
        ) as counted_to,
        sum(delta) over (
            partition by district_code order by change_date
            rows between unbounded preceding and current row
        ) as active_members
    from daily_changes
),

stock_values as (
    select
        spine.kpi_code,
        spine.period_grain,
        spine.period_start,
        spine.district_code,
        active_member_counts.active_members as value  -- noqa: RF04
    from spine
    inner join active_member_counts
        on
            spine.district_code = active_member_counts.district_code
            and spine.period_end >= active_member_counts.counted_from
            and (
                spine.period_end < active_member_counts.counted_to
                or active_member_counts.counted_to is null
            )
    where spine.kpi_code = 'members_active_end'
),

kpi_values as (
    -- Both have kpi_code, period_grain, period_start, district_code, value in this order.
    select * from flow_values
    union all
    select * from stock_values
),

kpi_rows as (
    {{ kpi_zero_fill('kpi_values') }}
),

{{ replace_keys_final('kpi_rows', 'period_start', is_incremental()) }}

select * from final
