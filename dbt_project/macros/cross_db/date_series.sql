{#-
    Every timestamp from `start` to `stop` (inclusive) by the interval `step`, one row each,
    as a set-returning select item (callers cast it to date). DuckDB's generate_series
    returns a list (unnest it); PostgreSQL's returns rows, over timestamps.
-#}
{% macro date_series(start, stop, step) -%}
    {{ return(adapter.dispatch('date_series', 'union_warehouse')(start, stop, step)) }}
{%- endmacro %}

{% macro default__date_series(start, stop, step) -%}
    generate_series(cast({{ start }} as timestamp), cast({{ stop }} as timestamp), {{ step }})
{%- endmacro %}

{% macro duckdb__date_series(start, stop, step) -%}
    unnest(generate_series({{ start }}, {{ stop }}, {{ step }}))
{%- endmacro %}
