-- One row per 12351 hotline request (latest version). The caller's phone pseudonym stays in
-- the raw layer; only its validity is kept. Requests deleted at the source are dropped.

with

source as (
    select * from {{ source('disputes', 'hotline_request') }}
),

renamed as (
    select
        cast(request_id as {{ dbt.type_string() }}) as request_id,
        cast(received_at as timestamp) as received_at,
        cast(received_at as date) as received_on,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(caller_member_id as {{ dbt.type_string() }}) as caller_member_id,
        cast(caller_phone_valid as boolean) as caller_phone_is_valid,
        cast(district_code as {{ dbt.type_string() }}) as district_code,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(topic as {{ dbt.type_string() }}) as topic,
        cast(handling as {{ dbt.type_string() }}) as handling,
        cast(assigned_union_id as {{ dbt.type_string() }}) as assigned_union_id,
        cast(complexity as {{ dbt.type_string() }}) as complexity,
        cast(due_at as timestamp) as due_at,
        cast(closed_at as timestamp) as closed_at,
        cast(closed_at as date) as closed_on,
        cast(status as {{ dbt.type_string() }}) as request_status,
        cast(satisfaction as integer) as satisfaction,
        cast(linked_case_id as {{ dbt.type_string() }}) as linked_case_id,
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
