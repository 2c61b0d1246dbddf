{#-
    The last day of a date's month, as a date. DuckDB: last_day(); elsewhere dbt's last_day.
-#}
{% macro month_end(date) -%}
    {{ return(adapter.dispatch('month_end', 'union_warehouse')(date)) }}
{%- endmacro %}

{% macro default__month_end(date) -%}
    {{ dbt.last_day(date, 'month') }}
{%- endmacro %}

{% macro duckdb__month_end(date) -%}
    last_day({{ date }})
{%- endmacro %}

{% macro spark__month_end(date) -%}
    last_day({{ date }})
{%- endmacro %}
