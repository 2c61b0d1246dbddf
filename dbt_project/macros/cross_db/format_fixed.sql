{#-
    A number as text with `decimals` digits after the point, then `suffix` (e.g. '%', '万元').
    DuckDB: printf('%.2f...'); PostgreSQL: to_char, which rounds the double the same way
    (printf of the binary value) for the report's magnitudes (up to 15 digits).
-#}
{% macro format_fixed(value, decimals, suffix='') -%}
    {{ return(adapter.dispatch('format_fixed', 'union_warehouse')(value, decimals, suffix)) }}
{%- endmacro %}

{% macro default__format_fixed(value, decimals, suffix='') -%}
    to_char({{ value }}, 'FM{{ "9" * (14 - decimals) }}0{{ "." ~ "0" * decimals if decimals > 0 }}')
    {%- if suffix %} || '{{ suffix }}'{% endif %}
{%- endmacro %}

{% macro duckdb__format_fixed(value, decimals, suffix='') -%}
    printf('%.{{ decimals }}f{{ suffix | replace("%", "%%") }}', {{ value }})
{%- endmacro %}

{#- Spark: format_number (Java's DecimalFormat, US symbols) rounds a tie half to even like
    DuckDB's printf (3.125 -> 3.12; format_string would give 3.13); its grouping commas go. -#}
{% macro spark__format_fixed(value, decimals, suffix='') -%}
    replace(format_number(cast({{ value }} as double), {{ decimals }}), ',', '')
    {%- if suffix %} || '{{ suffix }}'{% endif %}
{%- endmacro %}
