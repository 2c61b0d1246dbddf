{#-
    The elements of a list of scalars from the raw layer, one row each, with their 1-based
    positions, as select items named `position` and `element` (a null list has none):
        {{ list_elements('claim_types', 'claim_type_ordinal', 'claim_type') }}
    DuckDB LISTs and PostgreSQL arrays: generate_subscripts and unnest, which unnest in step;
    Spark allows one generator per select: one inline() of (position, element) structs.
-#}
{% macro list_elements(list, position, element) -%}
    {{ return(adapter.dispatch('list_elements', 'union_warehouse')(list, position, element)) }}
{%- endmacro %}

{% macro default__list_elements(list, position, element) -%}
    generate_subscripts({{ list }}, 1) as {{ position }},
    unnest({{ list }}) as {{ element }}
{%- endmacro %}

{% macro spark__list_elements(list, position, element) -%}
    inline(transform({{ list }}, (x, i) -> named_struct('{{ position }}', i + 1, '{{ element }}', x)))
{%- endmacro %}
