{#-
    Number of elements of a list of structs from the raw layer (a case's events, claimants),
    null for a null list, as bigint. DuckDB: a LIST of STRUCT; the PostgreSQL peer stores such a
    list as a jsonb array (bench/peer.py).
-#}
{% macro struct_list_length(list) -%}
    {{ return(adapter.dispatch('struct_list_length', 'union_warehouse')(list)) }}
{%- endmacro %}

{% macro default__struct_list_length(list) -%}
    cast(jsonb_array_length({{ list }}) as bigint)
{%- endmacro %}

{% macro duckdb__struct_list_length(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro spark__struct_list_length(list) -%}
    {{ spark__list_length(list) }}
{%- endmacro %}
