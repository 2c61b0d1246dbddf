-- One row per committed version of a membership event (source membership_event_history: every
-- version every load wrote, resends and versions since deleted included), with the columns
-- that place it in a KPI period and in unions: the incremental KPI aggregate recomputes the
-- periods, and the monthly fact compares the unions, of every version of each event a load
-- changed, the one it left as well as the one it entered.

with

source as (
    select * from {{ source('membership', 'membership_event_history') }}
),

renamed as (
    select
        event_id,
        member_id,
        union_id,
        counterpart_union_id,
        event_type,
        event_date,
        recorded_at,
        _load_id as load_id
    from source
),

final as (
    select * from renamed
)

select * from final
