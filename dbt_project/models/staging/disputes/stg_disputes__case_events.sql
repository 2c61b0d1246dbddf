-- One row per case × lifecycle event, numbered in the order the source lists them
-- (event_ordinal 1 = the first). Events of cases deleted at the source are dropped.

with

cases as (
    select * from {{ ref('base_disputes__cases') }}
),

unnested as (
    select
        case_id,
        {{ struct_list_elements('events', 'event_ordinal', 'case_event') }}
    from cases
    where not is_deleted
),

renamed as (
    select
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(event_ordinal as integer) as event_ordinal,
        cast(
            {{ struct_field('case_event', 'type', 'varchar') }} as {{ dbt.type_string() }}
        ) as event_type,
        cast({{ struct_field('case_event', 'at', 'timestamp') }} as timestamp) as event_at,
        cast({{ struct_field('case_event', 'at', 'timestamp') }} as date) as event_on
    from unnested
),

final as (
    select * from renamed
)

select * from final
