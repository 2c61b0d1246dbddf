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

{#- A select of the rows of CTE `records` placed in the periods of CTE `periods` (period_grain,
    period_start: the periods this run computes): `columns` of each record, once per grain,
    with the period_grain and period_start its date column `record_date` falls in. On a full
    build `periods` is the whole grid, so every record is placed in each grain. -#}
{% macro records_in_periods(records, record_date, columns, periods='revisited_periods') -%}
    select dated.*
    from (
        select
            {%- for column in columns %}
                {{ records }}.{{ column }},
            {%- endfor %}
            grains.period_grain,
            cast({{ trunc_date('grains.period_grain', records ~ '.' ~ record_date) }} as date)
                as period_start
        from {{ records }}
        cross join (select distinct period_grain from {{ periods }}) as grains
    ) as dated
    inner join {{ periods }}
        on
            dated.period_grain = {{ periods }}.period_grain
            and dated.period_start = {{ periods }}.period_start
{%- endmacro %}
