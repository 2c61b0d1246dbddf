-- One row per 12351 hotline request (latest version). The caller's phone pseudonym stays in
-- the raw layer; only its validity is kept. Requests deleted at the source are dropped.

with

source as (
    select * from {{ source('disputes', 'hotline_request') }}
),

renamed as (
    select
        cast(request_id as varchar) as request_id,
        cast(received_at as timestamp) as received_at,
        cast(received_at as date) as received_on,
        cast(channel as varchar) as channel,
        cast(caller_member_id as varchar) as caller_member_id,
        cast(caller_phone_valid as boolean) as caller_phone_is_valid,
        cast(district_code as varchar) as district_code,
        cast(category as varchar) as category,
        cast(topic as varchar) as topic,
        cast(handling as varchar) as handling,
        cast(assigned_union_id as varchar) as assigned_union_id,
        cast(complexity as varchar) as complexity,
        cast(due_at as timestamp) as due_at,
        cast(closed_at as timestamp) as closed_at,
        cast(closed_at as date) as closed_on,
        cast(status as varchar) as request_status,
        cast(satisfaction as integer) as satisfaction,
        cast(linked_case_id as varchar) as linked_case_id,
        cast(updated_at as timestamp) as updated_at,
        cast(_loaded_at as timestamp) as loaded_at,
        coalesce(_quality_flags, {{ empty_list('varchar') }}) as quality_flags
    from source
    where not _is_deleted
),

final as (
    select * from renamed
)

select * from final
