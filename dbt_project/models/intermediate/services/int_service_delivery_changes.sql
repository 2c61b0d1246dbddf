{{ config(materialized='view') }}

-- One row per change the raw layer recorded for a service delivery: every stored version
-- (a line of a delivery file or of one of its revisions, resends included) with the file
-- group it came in, and every tombstone (file_group null: the delivery was found
-- hard-deleted, or withdrawn by a revision that emptied its file). The incremental delivery
-- fact reads it to find the deliveries a load touched. A view, so a filter on changed_at
-- prunes whole per-load Parquet files of the history by their statistics (through the
-- staging views, which only rename and cast). Tombstones come from raw.deletions
-- (stg_services__deletions) rather than the current view's _is_deleted: the same rows
-- without re-running the current view's reconciliation window over every delivery.

with

delivery_versions as (
    select * from {{ ref('stg_services__delivery_versions') }}
),

deletions as (
    select * from {{ ref('stg_services__deletions') }}
),

stored as (
    select
        record_key as delivery_id,
        'version' as change_type,
        source_file_group as file_group,
        load_id,
        loaded_at as changed_at
    from delivery_versions
),

tombstoned as (
    select
        record_key as delivery_id,
        'tombstone' as change_type,
        cast(null as {{ dbt.type_string() }}) as file_group,
        load_id,
        loaded_at as changed_at
    from deletions
    where source_name = 'services' and entity_name = 'delivery'
),

final as (
    select * from stored
    union all
    select * from tombstoned
)

select * from final
