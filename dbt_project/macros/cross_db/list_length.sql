{#-
    Number of elements of a list of scalars from the raw layer (claim_types, _quality_flags):
    0 for an empty list, null for a null one, as bigint. DuckDB LIST: len(); the PostgreSQL
    peer stores these lists as arrays (text[]): cardinality().
-#}
{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length', 'union_warehouse')(list)) }}
{%- endmacro %}

{% macro default__list_length(list) -%}
    cast(cardinality({{ list }}) as bigint)
{%- endmacro %}

{% macro duckdb__list_length(list) -%}
    len({{ list }})
{%- endmacro %}

{#- Spark's size() is -1 for a null array (spark.sql.legacy.sizeOfNull): null here. -#}
{% macro spark__list_length(list) -%}
    cast(case when {{ list }} is not null then size({{ list }}) end as bigint)
{%- endmacro %}
