-- One row per committed version of an honor (source honor_history: every version every load
-- wrote, resends and versions since deleted included), with the date that places it in a KPI
-- period: the incremental KPI aggregate recomputes the periods of every version of each honor
-- a load changed.

with

source as (
    select * from {{ source('membership', 'honor_history') }}
),

renamed as (
    select
        honor_id,
        awarded_on,
        _load_id as load_id
    from source
),

final as (
    select * from renamed
)

select * from final
