-- Grain: one row per 12351 hotline request (its latest state). Closed means status CLOSED;
-- on time means closed no later than its due time (null while open). Carries the district,
-- assigned union and caller's member id so the request counts by them.

with

requests as (
    select * from {{ ref('stg_disputes__hotline_requests') }}
),

channels as (
    select * from {{ ref('dim_hotline_channel') }}
),

categories as (
    select * from {{ ref('dim_hotline_category') }}
),

topics as (
    select * from {{ ref('dim_hotline_topic') }}
),

final as (
    select
        {{ surrogate_key(['requests.request_id']) }} as request_key,
        requests.request_id,
        coalesce(channels.hotline_channel_key, {{ unknown_key() }}) as hotline_channel_key,
        coalesce(categories.hotline_category_key, {{ unknown_key() }}) as hotline_category_key,
        coalesce(topics.hotline_topic_key, {{ unknown_key() }}) as hotline_topic_key,
        requests.district_code,
        requests.assigned_union_id,
        requests.caller_member_id,
        requests.linked_case_id,
        requests.channel,
        requests.category,
        requests.topic,
        requests.handling,
        requests.complexity,
        requests.request_status,
        requests.received_at,
        requests.received_on,
        requests.due_at,
        cast(requests.due_at as date) as due_on,
        requests.closed_at,
        requests.closed_on,
        requests.satisfaction,
        requests.caller_phone_is_valid,
        requests.updated_at,
        requests.caller_member_id is not null as is_member_caller,
        requests.request_status = 'CLOSED' as is_closed,
        requests.closed_at <= requests.due_at as is_closed_on_time,
        {{ date_difference('second', 'requests.received_at', 'requests.closed_at') }}
        / cast(3600 as {{ type_double() }})
            as handling_hours,
        {{ date_difference('day', 'requests.received_on', 'requests.closed_on') }}
            as handling_days
    from requests
    left join channels on requests.channel = channels.channel
    left join categories on requests.category = categories.category
    left join topics on requests.topic = topics.topic
)

select * from final
