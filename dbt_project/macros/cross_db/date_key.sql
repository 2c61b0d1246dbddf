{#-
    The conformed date key of a date: yyyymmdd as an integer (dim_date.date_key, the facts'
    *_date_key columns), from format_date() so every engine formats it alike.
-#}
{% macro date_key(date) -%}
    cast({{ format_date(date, '%Y%m%d') }} as integer)
{%- endmacro %}
