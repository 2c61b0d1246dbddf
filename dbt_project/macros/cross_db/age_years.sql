{#-
    Completed years from `date` to today (a person's age), as integer: a birthday not yet
    reached this year does not count, a 29 February birthday counts on 1 March in other years.
-#}
{% macro age_years(date) -%}
    {{ return(adapter.dispatch('age_years', 'union_warehouse')(date)) }}
{%- endmacro %}

{% macro default__age_years(date) -%}
    cast(date_part('year', age(current_date, {{ date }})) as integer)
{%- endmacro %}

{% macro spark__age_years(date) -%}
    cast(
        year(current_date) - year({{ date }})
        - case when date_format(current_date, 'MMdd') < date_format({{ date }}, 'MMdd') then 1 else 0 end
        as integer
    )
{%- endmacro %}
