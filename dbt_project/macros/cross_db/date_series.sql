{#-
    Every date from `start` to `stop` (inclusive) by the interval `step`, one row each, as a
    set-returning select item of type date (the cast is inside: Spark cannot cast a
    generator's output in the same expression). DuckDB's generate_series
    returns a list (unnest it); PostgreSQL's returns rows, over timestamps.
-#}
{% macro date_series(start, stop, step) -%}
    {{ return(adapter.dispatch('date_series', 'union_warehouse')(start, stop, step)) }}
{%- endmacro %}

{% macro default__date_series(start, stop, step) -%}
    cast(generate_series(cast({{ start }} as timestamp), cast({{ stop }} as timestamp), {{ step }}) as date)
{%- endmacro %}

{% macro duckdb__date_series(start, stop, step) -%}
    cast(unnest(generate_series({{ start }}, {{ stop }}, {{ step }})) as date)
{%- endmacro %}

{% macro spark__date_series(start, stop, step) -%}
    explode(sequence(cast({{ start }} as date), cast({{ stop }} as date), {{ step }}))
{%- endmacro %}
