-- Grain: one row per service delivery (delivery_id) as the service system shows it now: the
-- live revision of its file, its latest version, not hard-deleted, not withdrawn.
--
-- Keys: program_key / station_key / beneficiary_group_key point at the dimensions' rows, or at
-- their "unknown" row ({{ unknown_key() }}) while the natural code is not (yet) known (a
-- delivery without a station is "unknown" too). The natural program_code and station_id stay
-- so a late dimension row re-links; union_id, member_id, district_code and delivered_on stay
-- natural for the union, member, district and date dimensions of the other marts.
--
-- Incremental (merge on delivery_id). What a run revisits is decided on the raw layer's load
-- stamp `_loaded_at`, not on recorded_at/delivered_on: district files arrive late and
-- revisions rewrite old days, so source dates say nothing about what changed, while every
-- change reaches the raw layer in a load. The watermark is the greatest source_loaded_at the
-- fact holds (each row keeps the `_loaded_at` of the raw version it shows); loads after it
-- are unseen. It never passes an unseen load (every row comes from a load seen when its run
-- read raw), and a load revisited twice is harmless: the merge is idempotent. (`_load_id`
-- would order loads the same way; `_loaded_at` also stamps tombstones in raw.deletions.)
-- A run revisits
--   1. every delivery ever stored in a file group (a district-day file and its -rN
--      revisions) that a load after the watermark wrote to: new deliveries, corrections,
--      resends, and rows a revision withdrew -- a withdrawn row has no new version, only its
--      group has a new revision, so filtering delivery rows on `_loaded_at` would miss it;
--   2. every delivery tombstoned after the watermark (a revision that withdrew a whole file
--      writes no row, only tombstones);
--   3. every fact row whose program, station or beneficiary-group key no longer matches its
--      dimension (a programme that arrived later re-links; one that left unlinks).
-- A revisited delivery that is live in staging is upserted; one that is not (withdrawn or
-- deleted) is emitted as a tombstone row (is_withdrawn, only in incremental runs) that the
-- merge deletes. The fact's columns are listed once below (fact_columns) for the merge's
-- insert; changing them needs --full-refresh (on_schema_change ignores the is_withdrawn
-- column of incremental batches).

-- depends_on: {{ ref('int_service_delivery_changes') }} (read by incremental runs only)

{%- set fact_columns = [
    'delivery_id',
    'program_key',
    'station_key',
    'beneficiary_group_key',
    'program_code',
    'station_id',
    'union_id',
    'member_id',
    'district_code',
    'delivered_on',
    'beneficiary_group',
    'channel',
    'person_times',
    'benefit_value_yuan',
    'recorded_at',
    'source_load_id',
    'source_loaded_at',
] -%}
{%- set insert_values = [] -%}
{%- for column in fact_columns -%}
    {%- do insert_values.append('DBT_INTERNAL_SOURCE.' ~ column) -%}
{%- endfor -%}

{#- Spark tables here are plain Parquet, which has no MERGE (Delta Lake or Iceberg would):
    on Spark the fact is rebuilt whole on every run. -#}
{#- On DuckDB the merge logs the keys it touched, and a build of the whole table says so,
    in meta.model_changes: publication catches up by those keys (serving/model_changes.py). -#}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='merge_logged' if target.type == 'duckdb' else 'merge',
    unique_key='delivery_id',
    on_schema_change='ignore',
    post_hook=[
        "{{ record_model_changes() if target.type == 'duckdb' and not is_incremental() }}",
    ],
    merge_clauses={
        'when_matched': [
            {'condition': 'DBT_INTERNAL_SOURCE.is_withdrawn', 'action': 'delete'},
            {'action': 'update', 'mode': 'explicit'},
        ],
        'when_not_matched': [
            {
                'condition': 'not DBT_INTERNAL_SOURCE.is_withdrawn',
                'action': 'insert',
                'mode': 'explicit',
                'insert': {'columns': fact_columns, 'values': insert_values},
            },
        ],
    },
) }}

with

deliveries as (
    select * from {{ ref('stg_services__deliveries') }}
),

programs as (
    {{ known_rows('dim_program') }}
),

stations as (
    {{ known_rows('dim_station') }}
),

beneficiary_groups as (
    {{ known_rows('dim_beneficiary_group') }}
),

{% if is_incremental() %}

    delivery_changes as (
        select * from {{ ref('int_service_delivery_changes') }}
    ),

    fact_rows as (
        select * from {{ this }}
    ),

    -- Read apart from fact_rows: a CTE read twice is materialized, and this one is the whole
    -- fact (5 M rows at SF1) where the watermark needs one column's maximum.
    watermark as (
        select coalesce(max(source_loaded_at), timestamp '1949-10-01') as loaded_at
        from {{ this }}
    ),

    -- Read apart from delivery_changes, as the watermark: filtered on the load stamp, the
    -- raw history's scan skips every load before the watermark.
    changes_since as (
        select delivery_changes.*
        from {{ ref('int_service_delivery_changes') }} as delivery_changes
        cross join watermark
        where delivery_changes.changed_at > watermark.loaded_at
    ),

    changed_groups as (
        select distinct file_group
        from changes_since
        where file_group is not null
    ),

    in_changed_groups as (
        select delivery_changes.delivery_id
        from delivery_changes
        inner join changed_groups
            on delivery_changes.file_group = changed_groups.file_group
    ),

    tombstoned as (
        select delivery_id
        from changes_since
        where change_type = 'tombstone'
    ),

    fact_links as (
        select
            fact_rows.delivery_id,
            fact_rows.program_key as linked_program_key,
            fact_rows.station_key as linked_station_key,
            fact_rows.beneficiary_group_key as linked_beneficiary_group_key,
            coalesce(programs.program_key, {{ unknown_key() }}) as program_key,
            coalesce(stations.station_key, {{ unknown_key() }}) as station_key,
            coalesce(beneficiary_groups.beneficiary_group_key, {{ unknown_key() }})
                as beneficiary_group_key
        from fact_rows
        left join programs
            on fact_rows.program_code = programs.program_code
        left join stations
            on fact_rows.station_id = stations.station_id
        left join beneficiary_groups
            on fact_rows.beneficiary_group = beneficiary_groups.beneficiary_group
    ),

    relinked as (
        select delivery_id
        from fact_links
        where
            linked_program_key != program_key
            or linked_station_key != station_key
            or linked_beneficiary_group_key != beneficiary_group_key
    ),

    revisited as (
        select delivery_id from in_changed_groups
        union
        select delivery_id from tombstoned
        union
        select delivery_id from relinked
    ),

{% endif %}

deliveries_to_link as (
    select deliveries.*
    from deliveries
    {% if is_incremental() %}
        -- Filtered before the dimensions are joined: after them, every live delivery would be.
        where deliveries.delivery_id in (select revisited.delivery_id from revisited)
    {% endif %}
),

linked as (
    select
        deliveries.delivery_id,
        coalesce(programs.program_key, {{ unknown_key() }}) as program_key,
        coalesce(stations.station_key, {{ unknown_key() }}) as station_key,
        coalesce(beneficiary_groups.beneficiary_group_key, {{ unknown_key() }})
            as beneficiary_group_key,
        deliveries.program_code,
        deliveries.station_id,
        deliveries.union_id,
        deliveries.member_id,
        deliveries.district_code,
        deliveries.delivered_on,
        deliveries.beneficiary_group,
        deliveries.channel,
        deliveries.person_times,
        deliveries.benefit_value_yuan,
        deliveries.recorded_at,
        deliveries.load_id as source_load_id,
        deliveries.loaded_at as source_loaded_at
    from deliveries_to_link as deliveries
    left join programs
        on deliveries.program_code = programs.program_code
    left join stations
        on deliveries.station_id = stations.station_id
    left join beneficiary_groups
        on deliveries.beneficiary_group = beneficiary_groups.beneficiary_group
),

{% if is_incremental() %}

    -- A revisited delivery that is not live. Those the fact does not hold are emitted too:
    -- the merge deletes a tombstone it matches and inserts none, and starting from the few
    -- revisited keys spares a join with the whole fact.
    withdrawn as (
        select revisited.delivery_id
        from revisited
        where not exists (
            select 1 from linked
            where linked.delivery_id = revisited.delivery_id
        )
    ),

    -- linked has the fact_columns in their order; a tombstone has only its delivery_id.
    final as (
        select
            *,
            false as is_withdrawn
        from linked
        union all
        select
            {%- for column in fact_columns %}
                {{ 'delivery_id' if column == 'delivery_id' else 'null as ' ~ column }},
            {%- endfor %}
            true as is_withdrawn
        from withdrawn
    )

{% else %}

    final as (
        select * from linked
    )

{% endif %}

select * from final
