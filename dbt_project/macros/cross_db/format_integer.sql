{#-
    A number rounded to a whole number, as text, then `suffix` (e.g. '人次').
    DuckDB: printf('%d...'); elsewhere the bigint's text.
-#}
{% macro format_integer(value, suffix='') -%}
    {{ return(adapter.dispatch('format_integer', 'union_warehouse')(value, suffix)) }}
{%- endmacro %}

{% macro default__format_integer(value, suffix='') -%}
    cast(cast({{ value }} as bigint) as {{ dbt.type_string() }})
    {%- if suffix %} || '{{ suffix }}'{% endif %}
{%- endmacro %}

{% macro duckdb__format_integer(value, suffix='') -%}
    printf('%d{{ suffix | replace("%", "%%") }}', cast({{ value }} as bigint))
{%- endmacro %}

{% macro spark__format_integer(value, suffix='') -%}
    format_string('%d{{ suffix | replace("%", "%%") }}', cast({{ value }} as bigint))
{%- endmacro %}
