{#-
    The KPI aggregates (int_<source>_kpis_aggregated) are replace_keys models keyed on
    period_start: an incremental run recomputes every grain, KPI and district of the periods
    that start on a revisited day, and leaves every other period as the build that wrote it.
    A period is revisited when it holds a date of a record version the unseen loads wrote or
    tombstoned (every version of each changed key: the version a record left counts as much
    as the one it entered), or when the grid of int_kpi_periods gained or lost it (a new
    month, a first record earlier than any before). Each model adds what else its KPIs
    depend on (a union's district, a stock's history).
-#}

{#- A select of the period starts (column period_start), for every grain of CTE `periods`
    (int_kpi_periods), of the periods holding a date of CTE `dates` (column record_date). -#}
{% macro period_starts_of(dates, periods='periods') -%}
    select distinct
        cast({{ trunc_date('grains.period_grain', dates ~ '.record_date') }} as date)
            as period_start
    from {{ dates }}
    cross join (select distinct period_grain from {{ periods }}) as grains
    where {{ dates }}.record_date is not null
{%- endmacro %}

{#- A select of the period starts (column period_start) of the periods that CTE `periods`
    (int_kpi_periods) has and `this` model has not, or that `this` has and `periods` has not. -#}
{% macro regridded_period_starts(periods='periods') -%}
    select period_start
    from (
        (
            select period_grain, period_start from {{ periods }}
            except
            select period_grain, period_start from {{ this }}
        )
        union all
        (
            select period_grain, period_start from {{ this }}
            except
            select period_grain, period_start from {{ periods }}
        )
    ) as regridded
{%- endmacro %}
