-- One row per service delivery as the service system shows it now: the live revision of each
-- delivery file, the latest version of each delivery_id (raw current rule); deliveries
-- hard-deleted at the source are dropped, and deliveries withdrawn by a revision are absent.
-- The free-text remark (PII) is never loaded; the union name stays with the union dimension.

with

deliveries as (
    select * from {{ source('services', 'delivery') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

live_deliveries as (
    select * from deliveries
    where not _is_deleted
),

renamed as (
    select
        delivery_id,
        program_code,
        member_id,
        beneficiary_group,
        union_id,
        station_id,
        district_code,
        delivered_on,
        cast(person_times as integer) as person_times,
        cast(benefit_value_yuan as decimal(18, 2)) as benefit_value_yuan,
        channel,
        recorded_at,
        _file_group as source_file_group,
        cast(_revision as integer) as source_revision,
        _load_id as load_id,
        _loaded_at as loaded_at
    from live_deliveries
),

final as (
    select
        renamed.*,
        beneficiary_groups.label_zh as beneficiary_group_label_zh,
        beneficiary_groups.label_en as beneficiary_group_label_en,
        channels.label_zh as channel_label_zh,
        channels.label_en as channel_label_en
    from renamed
    left join enumerations as beneficiary_groups
        on
            beneficiary_groups.domain = 'beneficiary_group'
            and renamed.beneficiary_group = beneficiary_groups.code
    left join enumerations as channels
        on channels.domain = 'delivery_channel' and renamed.channel = channels.code
)

select * from final
