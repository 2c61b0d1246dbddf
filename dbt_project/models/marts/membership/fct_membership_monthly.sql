-- Grain: one row per union (union_id as the events name it) × calendar month, from the
-- union's first membership activity to the last reporting month, for months in which the
-- union had members at the start or end, or any event. Active members at month end follow
-- KPIS.md's members_active_end (int_member_states_intervalized), so summing a district's
-- unions gives that KPI's month value. union_key is the version in effect at month end.

--
-- Incremental (replace_keys on union_id): a union's rows are a function of its months with a
-- change (net change of in-union states, events by type), its versions and district, and
-- the last reporting month. A run recomputes the unions whose months with a change differ
-- from the rows it wrote before (compared by a hash per union: the old member states are gone
-- once int_member_states_intervalized has replaced them, the rows here still say what they
-- were), and the unions whose versions a load it has not processed wrote or tombstoned.
-- Only the unions a load may have changed are compared: those of any version of any event
-- of a member whose states may have changed (scoped_unions), so a day reads the months of a
-- few hundred unions, not of every union.
-- When the reporting months reach a new month, every other union with members gets rows for
-- it that carry its last count (added beside its rows: replace_keys inserts rows whose key
-- has no marker); when they lose their last month, every union is recomputed.

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_membership__member_versions') }}
-- depends_on: {{ ref('stg_membership__union_versions') }}
-- depends_on: {{ ref('stg_membership__membership_event_versions') }}

{{ replace_keys_config('union_id', ['membership']) }}
{%- set membership = load_state(['membership']) %}
{%- set loads = membership.loads %}
{#- An incremental run by today's definition carries the unions it does not revisit into a
    new reporting month (carried_months). #}
{%- set carried = is_incremental() and not membership.redefined %}
{#- What a union's row says of a month with a change, compared on an incremental run. #}
{%- set counted = [
    'joins', 'joins_new_form', 'transfers_in', 'transfers_out', 'reinstatements',
    'retentions', 'retirements', 'leaves',
] %}
{%- set compared = ['net_change'] + counted %}
{#- A month's columns, computed or carried. #}
{%- set month_columns = ['union_id', 'month_start', 'month_end'] + compared
    + ['active_members_start', 'active_members_end'] %}
{#- A month a union's rows keep whatever its member counts: one with an event. #}
{%- set has_events -%}
    joins + transfers_in + transfers_out + reinstatements + retentions + retirements + leaves > 0
{%- endset %}

with

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

{#- The incremental run reads the events, their versions and the rows before several times,
    each read filtered on its own few keys: not materialized (DuckDB otherwise materializes a
    CTE read more than once, all 3.4 M events and 7 M rows at SF1), each read scans only what
    it keeps. The incremental path runs on DuckDB only. #}
{%- set inlined = 'not materialized' if carried else '' %}

events as {{ inlined }} (
    select * from {{ ref('stg_membership__membership_events') }}
),

member_states as (
    select * from {{ ref('int_member_states_intervalized') }}
),

unions as (
    select * from {{ ref('stg_membership__unions') }}
),

union_versions as (
    {{ known_rows('dim_union') }}
),

known_districts as (
    {{ known_rows('dim_district') }}
),

months as (
    select
        period_start as month_start,
        period_end as month_end
    from periods
    where period_grain = 'month'
),

{% if is_incremental() %}

    {{ membership_changes_ctes(loads) }}

    rows_before as {{ inlined }} (
        select * from {{ this }}
    ),

{% endif %}

{%- if carried %}

    event_versions as {{ inlined }} (
        select * from {{ ref('stg_membership__membership_event_versions') }}
    ),

    -- Every version of each event the unseen loads wrote or tombstoned: the member and the
    -- unions it left count as much as the ones it entered.
    changed_event_versions as (
        select member_id
        from event_versions
        where
            event_id in (
                select loaded_events.event_id from loaded_events
                union all
                select tombstoned_events.event_id from tombstoned_events
            )
    ),

    -- The members whose state intervals int_member_states_intervalized may have rewritten:
    -- those of a changed event, and those with an event in a changed union.
    touched_members as (
        select member_id from changed_event_versions
        union
        select member_id from events
        where
            union_id in (select changed_unions.union_id from changed_unions)
            or counterpart_union_id in (select changed_unions.union_id from changed_unions)
    ),

    -- The last month the rows have, and whether the reporting months now end before it
    -- (a deleted record took the last month away: every union is recomputed).
    row_months as (
        select
            max(rows_before.month_start) as last_month_start,
            max(rows_before.month_start) > (select max(months.month_start) from months)
                as is_shortened
        from rows_before
    ),

    -- Every version of any event of a touched member (the changed events' versions among
    -- them): its states, old and new, are in these events' unions.
    touched_event_versions as (
        select
            union_id,
            counterpart_union_id
        from event_versions
        where member_id in (select touched_members.member_id from touched_members)
    ),

    -- The unions whose months with a change may differ from the rows before: those of the
    -- touched members' events and the changed unions; every union when the months were
    -- shortened. No other union's states or events changed, so the comparison below reads
    -- only these.
    scoped_unions as (
        select union_id from touched_event_versions
        union
        select counterpart_union_id as union_id from touched_event_versions
        union
        select union_id from changed_unions
        union
        select rows_before.union_id
        from rows_before
        cross join row_months
        where row_months.is_shortened
    ),

{%- endif %}

in_union_states as (
    select * from member_states
    where
        is_in_union
        {%- if carried %}
            and union_id in (select scoped_unions.union_id from scoped_unions)
        {%- endif %}
),

membership_changes as (
    select
        union_id,
        cast(date_trunc('month', state_from) as date) as month_start,
        1 as delta
    from in_union_states
    union all
    select
        union_id,
        cast(date_trunc('month', state_to) as date) as month_start,
        -1 as delta
    from in_union_states
    where state_to is not null
),

monthly_changes as (
    select
        union_id,
        month_start,
        sum(delta) as delta
    from membership_changes
    group by union_id, month_start
),

monthly_events as (
    select
        union_id,
        cast(date_trunc('month', event_date) as date) as month_start,
        count(*) filter (where event_type = 'JOIN') as joins,
        count(*) filter (where event_type = 'JOIN' and is_new_form) as joins_new_form,
        count(*) filter (where event_type = 'TRANSFER_IN') as transfers_in,
        count(*) filter (where event_type = 'TRANSFER_OUT') as transfers_out,
        count(*) filter (where event_type = 'REINSTATE') as reinstatements,
        count(*) filter (where event_type = 'RETAIN') as retentions,
        count(*) filter (where event_type = 'RETIRE') as retirements,
        count(*) filter (
            where event_type in ('WITHDRAW', 'DEEMED_WITHDRAW', 'EXPEL', 'DECEASED')
        ) as leaves
    from events
    {%- if carried %}
        where union_id in (select scoped_unions.union_id from scoped_unions)
    {%- endif %}
    group by union_id, month_start
),

{% if is_incremental() %}

    months_with_change as (
        select
            {%- for column in counted %}
                monthly_events.{{ column }},
            {%- endfor %}
            monthly_changes.delta as net_change,
            coalesce(monthly_changes.union_id, monthly_events.union_id) as union_id,
            coalesce(monthly_changes.month_start, monthly_events.month_start) as month_start
        from monthly_changes
        full outer join monthly_events
            on
                monthly_changes.union_id = monthly_events.union_id
                and monthly_changes.month_start = monthly_events.month_start
    ),

    {%- if not carried %}

        -- Computed by another definition: every union is recomputed (and rows_before may
        -- have other columns than the ones compared below).
        revisited as (
            select union_id from months_with_change
            union
            select union_id from rows_before
        ),

    {%- else %}

        -- A union's months with a change, as computed now and as its rows say they were.
        compared_months as (
            select
                'before' as side,
                union_id,
                month_start,
                {{ compared | join(', ') }}
            from rows_before
            where union_id in (select scoped_unions.union_id from scoped_unions)
            union all
            select
                'now' as side,
                union_id,
                month_start,
                coalesce({{ compared | join(', 0), coalesce(') }}, 0)
            from months_with_change
        ),

        hashed_changes as (
            select
                side,
                union_id,
                bit_xor(hash(
                    month_start,
                    cast({{ compared | join(' as bigint), cast(') }} as bigint)
                )) as changes_hash
            from compared_months
            where
                -- Without a load of the membership system since the last run, no union's
                -- months with a change changed.
                {{ 'true' if loads else 'false' }}
                and (net_change <> 0 or {{ has_events }})
            group by side, union_id
        ),

        changed_activity as (
            select union_id
            from hashed_changes
            group by union_id
            having count(*) = 1 or min(changes_hash) <> max(changes_hash)
        ),

        revisited as (
            select union_id from changed_unions
            union
            select union_id from changed_activity
            union
            select months_with_change.union_id
            from months_with_change
            cross join row_months
            where row_months.is_shortened
            union
            select rows_before.union_id
            from rows_before
            cross join row_months
            where row_months.is_shortened
        ),

        -- A union not revisited had no change in the months its rows do not reach yet (a new
        -- reporting month): each of them carries the members it had at the rows' last month.
        carried_months as (
            select
                rows_before.union_id,
                months.month_start,
                months.month_end,
                0 as {{ compared | join(', 0 as ') }},
                rows_before.active_members_end as active_members_start,
                rows_before.active_members_end
            from rows_before
            inner join row_months
                on rows_before.month_start = row_months.last_month_start
            inner join months
                on row_months.last_month_start < months.month_start
            where
                rows_before.active_members_end <> 0
                and rows_before.union_id not in (select revisited.union_id from revisited)
        ),

    {%- endif %}

{% endif %}

revisited_changes as (
    {{ revisited_rows('monthly_changes', 'union_id', is_incremental()) }}
),

revisited_events as (
    {{ revisited_rows('monthly_events', 'union_id', is_incremental()) }}
),

first_months as (
    select
        union_id,
        min(month_start) as first_month_start
    from (
        select
            union_id,
            month_start
        from revisited_changes
        union all
        select
            union_id,
            month_start
        from revisited_events
    ) as activity
    group by union_id
),

union_months as (
    select
        first_months.union_id,
        months.month_start,
        months.month_end
    from first_months
    inner join months
        on first_months.first_month_start <= months.month_start
),

filled as (
    select
        union_months.union_id,
        union_months.month_start,
        union_months.month_end,
        coalesce(monthly_changes.delta, 0) as net_change,
        coalesce(monthly_events.joins, 0) as joins,
        coalesce(monthly_events.joins_new_form, 0) as joins_new_form,
        coalesce(monthly_events.transfers_in, 0) as transfers_in,
        coalesce(monthly_events.transfers_out, 0) as transfers_out,
        coalesce(monthly_events.reinstatements, 0) as reinstatements,
        coalesce(monthly_events.retentions, 0) as retentions,
        coalesce(monthly_events.retirements, 0) as retirements,
        coalesce(monthly_events.leaves, 0) as leaves,
        sum(coalesce(monthly_changes.delta, 0)) over (
            partition by union_months.union_id order by union_months.month_start
            rows between unbounded preceding and current row
        ) as active_members_end
    from union_months
    left join revisited_changes as monthly_changes
        on
            union_months.union_id = monthly_changes.union_id
            and union_months.month_start = monthly_changes.month_start
    left join revisited_events as monthly_events
        on
            union_months.union_id = monthly_events.union_id
            and union_months.month_start = monthly_events.month_start
),

measured as (
    select
        *,
        active_members_end - net_change as active_members_start
    from filled
),

computed_months as (
    select * from measured
    where
        active_members_start <> 0
        or active_members_end <> 0
        or {{ has_events }}
),

active_months as (
    select {{ month_columns | join(', ') }} from computed_months
    {%- if carried %}
        union all
        select {{ month_columns | join(', ') }} from carried_months
    {%- endif %}
),

monthly as (
    select
        active_months.union_id,
        active_months.month_start,
        {{ date_key('active_months.month_start') }} as month_start_date_key,
        coalesce(union_versions.union_key, {{ unknown_key() }}) as union_key,
        coalesce(known_districts.district_key, {{ unknown_key() }}) as district_key,
        coalesce(unions.district_code, 'UNKNOWN') as district_code,
        active_months.active_members_start,
        active_months.active_members_end,
        active_months.net_change,
        active_months.joins,
        active_months.joins_new_form,
        active_months.transfers_in,
        active_months.transfers_out,
        active_months.reinstatements,
        active_months.retentions,
        active_months.retirements,
        active_months.leaves
    from active_months
    {{ scd2_as_of_join(
        'union_versions',
        'union_id',
        'active_months.union_id',
        "active_months.month_end + interval '1 day'"
    ) }}
    left join unions
        on active_months.union_id = unions.union_id
    left join known_districts
        on unions.district_code = known_districts.district_code
),

{{ replace_keys_final('monthly', 'union_id', is_incremental()) }}

select * from final
