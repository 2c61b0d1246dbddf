{#-
    The `replace_keys` incremental strategy: every row of the target whose key (unique_key)
    the batch names is deleted, then the batch's rows are inserted. A model whose rows are a
    function of their key's inputs alone (a member's SCD2 versions, a member's state
    intervals, an event's fact row) recomputes the keys a load touched and replaces them
    whole, so a key that lost rows (a version collapsed, an event deleted or moved to another
    member) loses them in the target too.

    The batch names a key by a marker row (`_revisit_marker` true, every other column null;
    revisit_markers renders them), one per revisited key, whether or not the key still has
    rows: a key that now has none is deleted and not re-inserted. Markers are never inserted.
    A row whose key has no marker is added beside the key's rows (fct_membership_monthly's
    months carried into a new reporting month).
    The target's columns are the insert's. When the model's columns changed (a new version of
    its SQL, which revisits every key), the batch replaces the table instead
    (on_schema_change='ignore': the strategy handles it, and the marker is no column).
-#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error('replace_keys needs one unique_key column') }}
    {%- endif -%}
    {%- set existing = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set computed = run_query('select * from ' ~ batch ~ ' limit 0').column_names
        | reject('equalto', '_revisit_marker') | list -%}
    {%- if computed == existing -%}
        {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
        delete from {{ target }}
        where {{ key }} in (select {{ key }} from {{ batch }} where _revisit_marker);
        insert into {{ target }} ({{ columns }})
        select {{ columns }} from {{ batch }}
        where not _revisit_marker;
        {{ record_revisits(key, batch, target) }}
    {%- else -%}
        {#- The model's columns changed. Its definition changed with them, so it revisited
            every key it has (unseen_loads): the batch replaces the whole table. A key the
            batch does not revisit means the change came from elsewhere (a macro): refuse. -#}
        {%- set left_out = run_query(
            'select count(*) from ' ~ target ~ ' where ' ~ key ~ ' not in (select ' ~ key
            ~ ' from ' ~ batch ~ ' where _revisit_marker)').columns[0].values()[0] -%}
        {%- if left_out > 0 -%}
            {{ exceptions.raise_compiler_error(
                this.identifier ~ ': its columns changed (' ~ existing | join(', ') ~ ' -> '
                ~ computed | join(', ') ~ ') but this run revisits only part of it; run dbt '
                ~ 'build --full-refresh --select ' ~ this.identifier ~ '+') }}
        {%- endif -%}
        {%- set columns = computed | join(', ') -%}
        create or replace table {{ target }} as
        select {{ columns }} from {{ batch }}
        where not _revisit_marker;
        {{ record_revisits(none) }}
    {%- endif -%}
{%- endmacro %}

{#-
    The batch of a replace_keys model: the recomputed rows of CTE `rows`, then one marker row
    per key of CTE `revisited` (column `key`), every other column null. Renders a select (use
    it as the final CTE's body); incremental runs only, which are DuckDB's, whose union by
    name gives the markers the rows' columns (the model's, which a changed definition may
    have made other than the target's).
-#}
{% macro revisit_markers(rows, revisited, key) -%}
    select
        *,
        false as _revisit_marker
    from {{ rows }}
    union all by name
    select
        {{ key }},
        true as _revisit_marker
    from {{ revisited }}
{%- endmacro %}

{#- The config of a replace_keys model built from the loads of `sources`: incremental on
    DuckDB (loads_to_process.sql says why only there), a table elsewhere. -#}
{% macro replace_keys_config(key, sources) -%}
    {{ config(
        materialized='incremental' if target.type == 'duckdb' else 'table',
        incremental_strategy='replace_keys',
        unique_key=key,
        on_schema_change='ignore',
        post_hook=["{{ record_loads(" ~ sources ~ ") }}"],
    ) }}
{%- endmacro %}

{#- The `final` CTE of a replace_keys model: CTE `rows`, with the markers of CTE `revisited`
    on an incremental run (`incremental`: the model's is_incremental()). -#}
{% macro replace_keys_final(rows, key, incremental) -%}
    {%- if incremental %}
    final as (
        {{ revisit_markers(rows, 'revisited', key) }}
    )
    {%- else %}
    final as (
        select * from {{ rows }}
    )
    {%- endif %}
{%- endmacro %}

{#- The rows of `relation` a run recomputes: all of them on a full build, on an incremental
    run (`incremental`: the model's is_incremental()) those whose `key` is in CTE
    `revisited`. Renders a select (use it as a CTE body). -#}
{% macro revisited_rows(relation, key, incremental) -%}
    select * from {{ relation }}
    {%- if incremental %}
    where {{ key }} in (select revisited.{{ key }} from revisited)
    {%- endif %}
{%- endmacro %}
