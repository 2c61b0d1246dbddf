-- One row per committed version of a labour-dispute case (source case_history: every version
-- every load wrote, resends and versions since deleted included), with what places it in KPI
-- periods: received and closing dates and the nested lifecycle events (list of struct(type,
-- at)). The incremental KPI aggregate recomputes the periods of every version of each case a
-- load changed. Claimants stay in the raw layer.

with

source as (
    select * from {{ source('disputes', 'case_history') }}
),

renamed as (
    select
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(received_at as date) as received_on,
        cast(closed_at as date) as closed_on,
        events,
        cast(_load_id as {{ dbt.type_string() }}) as load_id
    from source
),

final as (
    select * from renamed
)

select * from final
