-- Grain: one row per case × lifecycle event (event_ordinal: the event's position in the case's
-- event list). Carries the case's district and handling union so events count by them.
--
-- Incremental (replace_keys on case_id): a run recomputes every event of each case that a
-- load it has not processed wrote a version of or tombstoned. A case's events are a function
-- of its own latest version (its event list, district and union) and of the event types,
-- which change only with the project (a changed definition recomputes every case).

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_disputes__case_versions') }}

{{ replace_keys_config('case_id', ['disputes']) }}
{%- set loads = unseen_loads(['disputes']) %}

with

case_events as (
    select * from {{ ref('stg_disputes__case_events') }}
),

cases as (
    select * from {{ ref('stg_disputes__cases') }}
),

event_types as (
    select * from {{ ref('dim_case_event_type') }}
),

{% if is_incremental() %}

    {{ revisited_records_ctes(
        'stg_disputes__case_versions', 'case_id', 'disputes', 'case', loads
    ) }}

{% endif %}

revisited_events as (
    {{ revisited_rows('case_events', 'case_id', is_incremental()) }}
),

event_rows as (
    select
        {{ surrogate_key(['revisited_events.case_id', 'revisited_events.event_ordinal']) }}
            as case_event_key,
        {{ surrogate_key(['revisited_events.case_id']) }} as case_key,
        coalesce(event_types.case_event_type_key, {{ unknown_key() }}) as case_event_type_key,
        revisited_events.case_id,
        revisited_events.event_ordinal,
        revisited_events.event_type,
        revisited_events.event_at,
        revisited_events.event_on,
        cases.district_code,
        cases.handling_union_id,
        {{ date_difference('day', 'cases.received_on', 'revisited_events.event_on') }}
            as days_since_received,
        {{ date_difference(
            'day',
            'lag(revisited_events.event_on) over (
                partition by revisited_events.case_id order by revisited_events.event_ordinal
            )',
            'revisited_events.event_on'
        ) }} as days_since_previous_event,
        row_number() over (
            partition by revisited_events.case_id, revisited_events.event_type
            order by revisited_events.event_ordinal
        ) = 1 as is_first_of_type
    from revisited_events
    inner join cases on revisited_events.case_id = cases.case_id
    left join event_types on revisited_events.event_type = event_types.event_type
),

{{ replace_keys_final('event_rows', 'case_id', is_incremental()) }}

select * from final
