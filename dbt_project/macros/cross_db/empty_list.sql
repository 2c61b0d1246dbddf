{#-
    An empty list of `element_type` (e.g. coalesce(_quality_flags, empty_list('varchar'))).
    DuckDB: the list literal []; PostgreSQL: an empty array literal of that type.
-#}
{% macro empty_list(element_type) -%}
    {{ return(adapter.dispatch('empty_list', 'union_warehouse')(element_type)) }}
{%- endmacro %}

{% macro default__empty_list(element_type) -%}
    cast('{}' as {{ element_type }}[])
{%- endmacro %}

{% macro duckdb__empty_list(element_type) -%}
    []
{%- endmacro %}

{% macro spark__empty_list(element_type) -%}
    cast(array() as array<{{ 'string' if element_type | lower == 'varchar' else element_type }}>)
{%- endmacro %}
