{#-
    date_trunc with the unit as SQL (`grain`: a quoted literal such as "'month'" or a column
    holding 'year' / 'quarter' / 'month' / 'week'), so the KPI models can truncate by a
    period grain column; callers cast the result to date. dbt's date_trunc takes only a
    literal unit. PostgreSQL's date_trunc of a date would go through timestamptz (the session
    time zone): truncate the date as a timestamp instead.
-#}
{% macro trunc_date(grain, date) -%}
    {{ return(adapter.dispatch('trunc_date', 'union_warehouse')(grain, date)) }}
{%- endmacro %}

{% macro default__trunc_date(grain, date) -%}
    date_trunc({{ grain }}, cast({{ date }} as timestamp))
{%- endmacro %}

{% macro duckdb__trunc_date(grain, date) -%}
    date_trunc({{ grain }}, {{ date }})
{%- endmacro %}

{% macro spark__trunc_date(grain, date) -%}
    date_trunc({{ grain }}, {{ date }})
{%- endmacro %}
