-- One row per committed version of a 12351 hotline request (source hotline_request_history:
-- every version every load wrote, resends and versions since deleted included), with the
-- date that places it in a KPI period: the incremental KPI aggregate recomputes the periods
-- of every version of each request a load changed. The caller's phone stays in the raw layer.

with

source as (
    select * from {{ source('disputes', 'hotline_request_history') }}
),

renamed as (
    select
        cast(request_id as {{ dbt.type_string() }}) as request_id,
        cast(received_at as date) as received_on,
        cast(_load_id as {{ dbt.type_string() }}) as load_id
    from source
),

final as (
    select * from renamed
)

select * from final
