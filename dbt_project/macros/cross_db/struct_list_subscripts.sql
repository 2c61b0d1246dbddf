{#-
    The 1-based positions of the elements of a list of structs from the raw layer, as a
    set-returning select item that unnests in step with struct_list_unnest() in the same
    select:
        {{ struct_list_subscripts('events') }} as event_ordinal,
        {{ struct_list_unnest('events') }} as case_event
    DuckDB: generate_subscripts over the LIST; the PostgreSQL peer stores the list as a jsonb
    array (bench/peer.py): generate_series over its length. A null list has no elements.
-#}
{% macro struct_list_subscripts(list) -%}
    {{ return(adapter.dispatch('struct_list_subscripts', 'union_warehouse')(list)) }}
{%- endmacro %}

{% macro default__struct_list_subscripts(list) -%}
    generate_series(1, jsonb_array_length({{ list }}))
{%- endmacro %}

{% macro duckdb__struct_list_subscripts(list) -%}
    generate_subscripts({{ list }}, 1)
{%- endmacro %}
