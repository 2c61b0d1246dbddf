-- Grain: one row per 12351 hotline request (its latest state). Closed means status CLOSED;
-- on time means closed no later than its due time (null while open). Carries the district,
-- assigned union and caller's member id so the request counts by them.
--
-- Incremental (replace_keys on request_id): a run recomputes each request that a load it has
-- not processed wrote a version of or tombstoned. A request's row is a function of its own
-- latest version and of the code dimensions, which change only with the project (a changed
-- definition recomputes every request).

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_disputes__hotline_request_versions') }}

{{ replace_keys_config('request_id', ['disputes']) }}
{%- set loads = unseen_loads(['disputes']) %}

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

{% if is_incremental() %}

    {{ revisited_records_ctes(
        'stg_disputes__hotline_request_versions', 'request_id', 'disputes', 'hotline_request',
        loads
    ) }}

{% endif %}

revisited_requests as (
    {{ revisited_rows('requests', 'request_id', is_incremental()) }}
),

request_rows as (
    select
        {{ surrogate_key(['revisited_requests.request_id']) }} as request_key,
        revisited_requests.request_id,
        coalesce(channels.hotline_channel_key, {{ unknown_key() }}) as hotline_channel_key,
        coalesce(categories.hotline_category_key, {{ unknown_key() }}) as hotline_category_key,
        coalesce(topics.hotline_topic_key, {{ unknown_key() }}) as hotline_topic_key,
        revisited_requests.district_code,
        revisited_requests.assigned_union_id,
        revisited_requests.caller_member_id,
        revisited_requests.linked_case_id,
        revisited_requests.channel,
        revisited_requests.category,
        revisited_requests.topic,
        revisited_requests.handling,
        revisited_requests.complexity,
        revisited_requests.request_status,
        revisited_requests.received_at,
        revisited_requests.received_on,
        revisited_requests.due_at,
        cast(revisited_requests.due_at as date) as due_on,
        revisited_requests.closed_at,
        revisited_requests.closed_on,
        revisited_requests.satisfaction,
        revisited_requests.caller_phone_is_valid,
        revisited_requests.updated_at,
        revisited_requests.caller_member_id is not null as is_member_caller,
        revisited_requests.request_status = 'CLOSED' as is_closed,
        revisited_requests.closed_at <= revisited_requests.due_at as is_closed_on_time,
        {{ date_difference(
            'second', 'revisited_requests.received_at', 'revisited_requests.closed_at'
        ) }}
        / cast(3600 as {{ type_double() }})
            as handling_hours,
        {{ date_difference(
            'day', 'revisited_requests.received_on', 'revisited_requests.closed_on'
        ) }} as handling_days
    from revisited_requests
    left join channels on revisited_requests.channel = channels.channel
    left join categories on revisited_requests.category = categories.category
    left join topics on revisited_requests.topic = topics.topic
),

{{ replace_keys_final('request_rows', 'request_id', is_incremental()) }}

select * from final
