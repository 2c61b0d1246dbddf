-- One row per tombstone the raw layer holds (source deletions, raw.deletions): a key a load
-- found hard-deleted at its source, for every source and entity (source, entity name them;
-- record_key is the entity's key). A service delivery gets one also when a revision file
-- withdraws every row of its file (such a revision writes no row).

with

source as (
    select * from {{ source('services', 'deletions') }}
),

renamed as (
    select
        source as source_name,
        entity as entity_name,
        record_key,
        _load_id as load_id,
        _loaded_at as loaded_at
    from source
),

final as (
    select * from renamed
)

select * from final
