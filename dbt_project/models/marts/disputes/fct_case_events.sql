-- Grain: one row per case × lifecycle event (event_ordinal: the event's position in the case's
-- event list). Carries the case's district and handling union so events count by them.

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

final as (
    select
        {{ surrogate_key(['case_events.case_id', 'case_events.event_ordinal']) }}
            as case_event_key,
        {{ surrogate_key(['case_events.case_id']) }} as case_key,
        coalesce(event_types.case_event_type_key, {{ unknown_key() }}) as case_event_type_key,
        case_events.case_id,
        case_events.event_ordinal,
        case_events.event_type,
        case_events.event_at,
        case_events.event_on,
        cases.district_code,
        cases.handling_union_id,
        {{ date_difference('day', 'cases.received_on', 'case_events.event_on') }}
            as days_since_received,
        {{ date_difference(
            'day',
            'lag(case_events.event_on) over (
                partition by case_events.case_id order by case_events.event_ordinal
            )',
            'case_events.event_on'
        ) }} as days_since_previous_event,
        row_number() over (
            partition by case_events.case_id, case_events.event_type
            order by case_events.event_ordinal
        ) = 1 as is_first_of_type
    from case_events
    inner join cases on case_events.case_id = cases.case_id
    left join event_types on case_events.event_type = event_types.event_type
)

select * from final
