{#-
    Whether a list of scalars from the raw layer (e.g. _quality_flags) holds `value`; null
    for a null list. DuckDB LIST: list_contains(); the PostgreSQL peer's arrays: = any().
-#}
{% macro list_contains_value(list, value) -%}
    {{ return(adapter.dispatch('list_contains_value', 'union_warehouse')(list, value)) }}
{%- endmacro %}

{% macro default__list_contains_value(list, value) -%}
    ({{ value }} = any({{ list }}))
{%- endmacro %}

{% macro duckdb__list_contains_value(list, value) -%}
    list_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro spark__list_contains_value(list, value) -%}
    array_contains({{ list }}, {{ value }})
{%- endmacro %}
