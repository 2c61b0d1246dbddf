-- One row per membership event (入会、转入、转出、保留会籍、退休、退会…); events of members
-- hard-deleted at the source are dropped with them. is_in_union_after says whether the event
-- leaves the member in a union (KPIS.md, members_active_end).

with

events as (
    select * from {{ source('membership', 'membership_event') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

live_events as (
    select * from events
    where not _is_deleted
),

renamed as (
    select
        event_id,
        member_id,
        event_type,
        union_id,
        counterpart_union_id,
        event_date,
        channel as join_channel,
        employment_form,
        recorded_at,
        _load_id as load_id,
        _loaded_at as loaded_at,
        employment_form = 'NEW_FORM' as is_new_form,
        event_type in (
            'JOIN', 'TRANSFER_IN', 'REINSTATE', 'RETAIN', 'RETIRE'
        ) as is_in_union_after
    from live_events
),

final as (
    select
        renamed.*,
        event_types.label_zh as event_type_label_zh,
        event_types.label_en as event_type_label_en,
        join_channels.label_zh as join_channel_label_zh,
        join_channels.label_en as join_channel_label_en
    from renamed
    left join enumerations as event_types
        on event_types.domain = 'membership_event_type' and renamed.event_type = event_types.code
    left join enumerations as join_channels
        on join_channels.domain = 'join_channel' and renamed.join_channel = join_channels.code
)

select * from final
