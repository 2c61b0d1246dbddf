{#-
    Which raw loads an incremental model has not processed yet, and the record that it has.

    A model built from a source's loads keeps, in meta.model_loads, one row per load it has
    processed (model_name, load_id). An incremental run revisits only the keys those
    unprocessed loads wrote or tombstoned (unseen_loads, load_filter) and its post-hook
    records them (record_loads), in the transaction that merges the model's rows: a run that
    dies before its commit leaves neither, so the next run revisits the same loads, and a load
    processed twice is harmless (the model replaces whole keys). A load is known by its id,
    not by a time watermark, so a load committed out of time order is still seen.

    Both queries run while dbt holds the DuckDB file, which no other process can then write:
    the loads listed when the model compiles are the loads recorded when its hook runs. The
    load ids are inlined as literals, so a filter on load_id prunes the raw layer's per-load
    Parquet files by their statistics.

    DuckDB only: the PostgreSQL peer is a copy of the raw layer without the load log, and
    Spark's Parquet tables have no DELETE; there these models are tables (replace_keys_config).
-#}

{#- The table of processed loads, created by the project's on-run-start hook (once, before
    models build in parallel: two threads creating it at once conflict). -#}
{% macro ensure_model_loads() -%}
    {%- if target.type == 'duckdb' -%}
        create schema if not exists meta;
        create table if not exists meta.model_loads (
            model_name varchar not null,
            load_id varchar not null,
            recorded_at timestamp not null
        );
        {{ ensure_model_revisits() }}
    {%- endif -%}
{%- endmacro %}

{#- The ids of the loads of `sources` (source system names) that `this` model has not
    processed, oldest first; [] while parsing and in a unit test (which has no `this`). When
    the model's definition changed since it last ran (definition_versions), every load of
    `sources`: the model then recomputes every key. -#}
{% macro unseen_loads(sources) -%}
    {{ return(load_state(sources).loads) }}
{%- endmacro %}

{#- unseen_loads(sources) as `loads`, and redefined() as `redefined`, for a model that needs
    both (one read of meta.model_loads). -#}
{% macro load_state(sources) -%}
    {%- if not execute or target.type != 'duckdb' or this is none -%}
        {{ return({'loads': [], 'redefined': false}) }}
    {%- endif -%}
    {%- set processed = processed_loads() -%}
    {%- set query -%}
        select distinct load_id
        from meta.loads
        where source in ({{ quoted_list(sources) }})
        order by load_id
    {%- endset -%}
    {%- set loads = run_query(query).columns[0].values() | list -%}
    {%- if redefined(processed) -%}
        {{ return({'loads': loads, 'redefined': true}) }}
    {%- endif -%}
    {{ return({'loads': loads | reject('in', processed) | list, 'redefined': false}) }}
{%- endmacro %}

{#- What meta.model_loads records for `this` model (load ids, definition versions). -#}
{% macro processed_loads() -%}
    {%- if adapter.get_relation(this.database, 'meta', 'model_loads') is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select load_id from meta.model_loads where model_name = '{{ this.identifier }}'
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- Whether `this` model's rows were built by another definition than today's (a version of
    definition_versions not recorded): an incremental run then recomputes every key. False
    while parsing and in a unit test. `processed`: processed_loads(), when the caller has
    it already. -#}
{% macro redefined(processed=none) -%}
    {%- if not execute or target.type != 'duckdb' or this is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set processed = processed_loads() if processed is none else processed -%}
    {%- for version in definition_versions() if version not in processed -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{#-
    The versions of what a model's rows are computed by, besides the loads: its own SQL
    (`model:<checksum>`) and every model and seed upstream of it (`<model or seed>:<name>:
    <checksum>`: a staging model's renaming, the labels of the enumerations seed...).
    Recorded with the loads; a version not recorded yet means rows built before were
    computed otherwise, and the model recomputes every key. (A changed macro is not seen:
    run --full-refresh after changing one an incremental model uses.)
-#}
{% macro definition_versions() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set ancestors = [] -%}
    {%- do upstream_nodes(model.unique_id, ancestors) -%}
    {%- set versions = ['model:' ~ model.checksum.checksum] -%}
    {%- for node in ancestors | sort -%}
        {%- do versions.append(
            node.split('.')[0] ~ ':' ~ graph.nodes[node]['name'] ~ ':'
            ~ graph.nodes[node]['checksum']['checksum']) -%}
    {%- endfor -%}
    {{ return(versions) }}
{%- endmacro %}

{% macro upstream_nodes(unique_id, found) -%}
    {%- for parent in graph.nodes[unique_id]['depends_on']['nodes'] if parent in graph.nodes -%}
        {%- if parent not in found -%}
            {%- do found.append(parent) -%}
            {%- do upstream_nodes(parent, found) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- A predicate: `column` is one of `loads` (load ids); false when there are none. -#}
{% macro load_filter(column, loads) -%}
    {%- if loads | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({{ quoted_list(loads) }})
    {%- endif -%}
{%- endmacro %}

{#- The post-hook of a model built by loads: record every load of `sources`, and the
    model's definition_versions, as processed by `this`, and when it was built (load_id
    'built'). A full refresh forgets what was recorded first (it reprocesses every load). -#}
{% macro record_loads(sources) -%}
    {%- if target.type == 'duckdb' -%}
        {%- if not is_incremental() -%}
            delete from meta.model_loads where model_name = '{{ this.identifier }}';
        {%- endif %}
        insert into meta.model_loads (model_name, load_id, recorded_at)
        select distinct '{{ this.identifier }}', load_id, current_timestamp
        from (
            select load_id from meta.loads where source in ({{ quoted_list(sources) }})
            union all
            select unnest([{{ quoted_list(definition_versions()) }}]) as load_id
        ) as processed
        where load_id not in (
            select load_id from meta.model_loads
            where model_name = '{{ this.identifier }}'
        );
        {%- if not is_incremental() %}
            {{ record_revisits(none) }};
        {%- endif %}
        delete from meta.model_loads
        where model_name = '{{ this.identifier }}' and load_id = 'built';
        insert into meta.model_loads (model_name, load_id, recorded_at)
        values ('{{ this.identifier }}', 'built', {{ as_of_timestamp() }})
    {%- endif -%}
{%- endmacro %}

{% macro quoted_list(values) -%}
    {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The keys (column `key`) of entity `entity` of source `source` that `loads` wrote a version
    of (in `versions`, the staged history with load_id) or tombstoned (in `deletions`,
    stg_services__deletions). Renders a select (use it as a CTE body). -#}
{% macro loaded_keys(versions, deletions, key, source, entity, loads) -%}
    select {{ key }}
    from {{ versions }}
    where {{ load_filter('load_id', loads) }}
    union
    select record_key as {{ key }}
    from {{ deletions }}
    where
        source_name = '{{ source }}'
        and entity_name = '{{ entity }}'
        and {{ load_filter('load_id', loads) }}
{%- endmacro %}

{#-
    The CTEs (each followed by a comma) of what `loads` changed in the membership system, for
    the models that join events to members and unions: loaded_events (event_id, member_id,
    union_id, counterpart_union_id of every event whose live version a load wrote; CTE
    `events` is stg_membership__membership_events), tombstoned_events (event_id),
    changed_members and changed_unions (member_id / union_id a load wrote a version of or
    tombstoned).
-#}
{% macro membership_changes_ctes(loads) -%}
    deletions as (
        select * from {{ ref('stg_services__deletions') }}
    ),

    member_version_history as (
        select * from {{ ref('stg_membership__member_versions') }}
    ),

    union_version_history as (
        select * from {{ ref('stg_membership__union_versions') }}
    ),

    loaded_events as (
        select
            event_id,
            member_id,
            union_id,
            counterpart_union_id
        from events
        where {{ load_filter('load_id', loads) }}
    ),

    tombstoned_events as (
        select record_key as event_id
        from deletions
        where
            source_name = 'membership'
            and entity_name = 'membership_event'
            and {{ load_filter('load_id', loads) }}
    ),

    changed_members as (
        {{ loaded_keys(
            'member_version_history', 'deletions', 'member_id', 'membership', 'member', loads
        ) }}
    ),

    changed_unions as (
        {{ loaded_keys(
            'union_version_history', 'deletions', 'union_id', 'membership', 'union_org', loads
        ) }}
    ),
{%- endmacro %}

{#-
    The CTEs (each followed by a comma) of a model whose rows are each a function of one
    record of the entity `entity` of source `source`: `revisited`, the keys (column `key`)
    that `loads` wrote a version of (in model `versions`, the staged history with load_id)
    or tombstoned. The model names both staged models in `-- depends_on:` comments: these
    refs render on incremental runs only, which dbt's parse does not see.
-#}
{% macro revisited_records_ctes(versions, key, source, entity, loads) -%}
    deletions as (
        select * from {{ ref('stg_services__deletions') }}
    ),

    record_versions as (
        select * from {{ ref(versions) }}
    ),

    revisited as (
        {{ loaded_keys('record_versions', 'deletions', key, source, entity, loads) }}
    ),
{%- endmacro %}

{#- The day `this` model was last built as of ('yyyy-mm-dd', as_of_date), none if never (or
    while parsing): what it computed "as of the build date" then is as of that day. -#}
{% macro last_built_on() -%}
    {%- if not execute or target.type != 'duckdb' or this is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if adapter.get_relation(this.database, 'meta', 'model_loads') is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select cast(max(recorded_at) as date)
        from meta.model_loads
        where model_name = '{{ this.identifier }}' and load_id = 'built'
    {%- endset -%}
    {%- set day = run_query(query).columns[0].values()[0] -%}
    {{ return(day | string if day is not none else none) }}
{%- endmacro %}
