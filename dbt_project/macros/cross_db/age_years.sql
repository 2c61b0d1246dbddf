{#-
    Completed years from `date` to the build's day (as_of_date), or to date expression `as_of`
    (a person's age), as integer: a birthday not yet
    reached this year does not count, a 29 February birthday counts on 1 March in other years.
-#}
{% macro age_years(date, as_of=none) -%}
    {{ return(adapter.dispatch('age_years', 'union_warehouse')(
        date, as_of if as_of is not none else as_of_date()
    )) }}
{%- endmacro %}

{% macro default__age_years(date, as_of) -%}
    cast(date_part('year', age({{ as_of }}, {{ date }})) as integer)
{%- endmacro %}

{% macro spark__age_years(date, as_of) -%}
    cast(
        year({{ as_of }}) - year({{ date }})
        - case when date_format({{ as_of }}, 'MMdd') < date_format({{ date }}, 'MMdd') then 1 else 0 end
        as integer
    )
{%- endmacro %}
