{#-
    The number of `datepart` boundaries (day, second...) from `start` to `end` (end - start,
    whole units as DuckDB's date_diff counts them: days between calendar dates, seconds
    between whole-second marks), as bigint. DuckDB: date_diff; elsewhere dbt's datediff.
-#}
{% macro date_difference(datepart, start, end) -%}
    {{ return(adapter.dispatch('date_difference', 'union_warehouse')(datepart, start, end)) }}
{%- endmacro %}

{% macro default__date_difference(datepart, start, end) -%}
    cast({{ dbt.datediff(start, end, datepart) }} as bigint)
{%- endmacro %}

{% macro duckdb__date_difference(datepart, start, end) -%}
    date_diff('{{ datepart }}', {{ start }}, {{ end }})
{%- endmacro %}
