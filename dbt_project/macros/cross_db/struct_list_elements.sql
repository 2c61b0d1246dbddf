{#-
    The elements of a list of structs from the raw layer, one row each, with their 1-based
    positions, as select items named `position` and `element`:
        {{ struct_list_elements('events', 'event_ordinal', 'case_event') }}
    A null list has no elements. DuckDB: generate_subscripts and unnest of the LIST, which
    unnest in step; the PostgreSQL peer stores the list as a jsonb array (bench/peer.py):
    generate_series over its length and jsonb_array_elements; Spark allows one generator
    per select, so one inline() of (position, element) structs.
-#}
{% macro struct_list_elements(list, position, element) -%}
    {{ return(adapter.dispatch('struct_list_elements', 'union_warehouse')(
        list, position, element)) }}
{%- endmacro %}

{% macro default__struct_list_elements(list, position, element) -%}
    generate_series(1, jsonb_array_length({{ list }})) as {{ position }},
    jsonb_array_elements({{ list }}) as {{ element }}
{%- endmacro %}

{% macro duckdb__struct_list_elements(list, position, element) -%}
    {{ default__list_elements(list, position, element) }}
{%- endmacro %}

{% macro spark__struct_list_elements(list, position, element) -%}
    {{ spark__list_elements(list, position, element) }}
{%- endmacro %}
