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
    The target's columns are the insert's; a change of the model's columns needs
    --full-refresh (on_schema_change='ignore': the marker column is not one of them).
-#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error('replace_keys needs one unique_key column') }}
    {%- endif -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where {{ key }} in (select {{ key }} from {{ batch }} where _revisit_marker);
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ batch }}
    where not _revisit_marker
{%- endmacro %}

{#-
    The batch of a replace_keys model: the recomputed rows of CTE `rows` (which has the
    target's columns), then one marker row per key of CTE `revisited` (column `key`).
    Renders a select (use it as the final CTE's body). The target's columns are read from the
    target, so this is for incremental runs only.
-#}
{% macro revisit_markers(rows, revisited, key) -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    select
        {%- for column in columns %}
            {{ column }},
        {%- endfor %}
        false as _revisit_marker
    from {{ rows }}
    union all
    select
        {%- for column in columns %}
            {{ key if column == key else 'null' }} as {{ column }},
        {%- endfor %}
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
