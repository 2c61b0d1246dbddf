{#-
    The elements of a list of structs from the raw layer, one row each, as a set-returning
    select item (pair it with struct_list_subscripts() for their positions; read their fields
    with struct_field()). DuckDB: unnest of the LIST; the PostgreSQL peer stores the list as a
    jsonb array (bench/peer.py): jsonb_array_elements. A null list has no elements.
-#}
{% macro struct_list_unnest(list) -%}
    {{ return(adapter.dispatch('struct_list_unnest', 'union_warehouse')(list)) }}
{%- endmacro %}

{% macro default__struct_list_unnest(list) -%}
    jsonb_array_elements({{ list }})
{%- endmacro %}

{% macro duckdb__struct_list_unnest(list) -%}
    unnest({{ list }})
{%- endmacro %}
