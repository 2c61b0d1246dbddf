-- One row per committed version of a delivery row (source delivery_history: every line of
-- every delivery file and of each of its revisions, resends included, per load). Read only
-- to find the deliveries a load touched (int_service_delivery_changes): the incremental
-- delivery fact revisits them. Renamed as stg_services__deliveries; record_key is the raw
-- layer's key of the row (the delivery_id). The union name stays in the raw layer, as in
-- stg_services__deliveries.

with

source as (
    select * from {{ source('services', 'delivery_history') }}
),

renamed as (
    select
        _record_key as record_key,
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
        _source_file as source_file,
        _source_line as source_line,
        _load_id as load_id,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
