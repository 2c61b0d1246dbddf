"""Suites over the marts BI reads: the KPI table's values, its city/district arithmetic, and
month-over-month jumps that nobody has explained."""

from __future__ import annotations

from quality.config import Thresholds
from quality.suite import Severity, Suite, gxe

KPI_VALUES = ("marts", "kpi_values")
_KPI_KEY = ("kpi_code", "period_grain", "period_start", "district_code")

KPI_VALUE_RANGES = Suite(
    name="value_ranges",
    asset=KPI_VALUES,
    severity=Severity.ERROR,
    description=("Counts, person-times and yuan are present and not negative; rates lie in 0..1."),
    sql="""
        select
            k.kpi_code,
            k.period_grain,
            k.period_start,
            k.district_code,
            case when c.unit <> 'rate' then k.value end as amount,
            case when c.unit = 'rate' then k.value end as rate,
            c.unit = 'rate' or k.value is not null as value_present
        from marts.kpi_values as k
        inner join marts.kpi_definitions as c on k.kpi_code = c.kpi_code
    """,
    expectations=lambda t: [
        gxe().ExpectColumnValuesToBeBetween(column="amount", min_value=0),
        gxe().ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=1),
        gxe().ExpectColumnValuesToBeInSet(column="value_present", value_set=[True]),
    ],
    key_columns=_KPI_KEY,
)

KPI_DISTRICTS_WITHIN_CITY = Suite(
    name="districts_within_city",
    asset=KPI_VALUES,
    severity=Severity.ERROR,
    description=(
        "For every additive KPI and period, the districts add up to no more than the city "
        "(records without a district count only in the city's figure)."
    ),
    sql="""
        with additive as (
            select k.kpi_code, k.period_grain, k.period_start, k.district_code, k.value
            from marts.kpi_values as k
            inner join marts.kpi_definitions as c on k.kpi_code = c.kpi_code
            where c.unit <> 'rate'
        ),

        totals as (
            select
                kpi_code,
                period_grain,
                period_start,
                max(value) filter (where district_code = 'ALL') as city_value,
                sum(value) filter (where district_code <> 'ALL') as district_sum
            from additive
            group by kpi_code, period_grain, period_start
        )

        select
            *,
            -- money sums carry float noise: allow a relative 1e-9
            district_sum - city_value - 1e-9 * greatest(abs(city_value), 1) as excess
        from totals
        where district_sum is not null
    """,
    expectations=lambda t: [gxe().ExpectColumnValuesToBeBetween(column="excess", max_value=0)],
    key_columns=("kpi_code", "period_grain", "period_start"),
)


def _jumps_sql(t: Thresholds) -> str:
    bands = ", ".join(
        f"('{code}', {band.max_change}, {band.floor})" for code, band in t.kpi_bands.items()
    )
    explained = (
        ", ".join(
            f"('{code}', date '{start}', '{district}')"
            for code, start, district in t.kpi_explanations
        )
        or "(null, null, null)"
    )
    since = t.get("kpi_jumps", "since")
    return f"""
        with bands (kpi_code, max_change, floor) as (values {bands}),

        explained (kpi_code, period_start, district_code) as (values {explained}),

        monthly as (
            select
                k.kpi_code,
                k.period_start,
                k.district_code,
                k.value,
                lag(k.value) over (partition by k.kpi_code order by k.period_start) as previous
            from marts.kpi_values as k
            inner join bands as b on k.kpi_code = b.kpi_code
            where k.period_grain = 'month' and k.district_code = 'ALL'
        )

        select
            m.kpi_code,
            m.period_start,
            m.value,
            m.previous,
            abs(m.value - m.previous) / greatest(abs(m.previous), b.floor) as change,
            b.max_change as allowed_change
        from monthly as m
        inner join bands as b on m.kpi_code = b.kpi_code
        anti join explained as e
            on m.kpi_code = e.kpi_code
            and m.period_start = e.period_start
            and m.district_code = e.district_code
        where m.period_start >= date '{since}' and m.previous is not null
    """


KPI_MONTHLY_JUMPS = Suite(
    name="monthly_jumps",
    asset=KPI_VALUES,
    severity=Severity.WARN,
    severity_setting=("kpi_jumps", "severity"),
    description=(
        "No listed KPI's city-wide monthly value moves beyond its band from the month before, "
        "unless quality/kpi_explanations.csv explains that month."
    ),
    sql=_jumps_sql,
    expectations=lambda t: [
        gxe().ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="allowed_change", column_B="change", or_equal=True
        )
    ],
    key_columns=("kpi_code", "period_start"),
)


def mart_suites() -> list[Suite]:
    return [KPI_VALUE_RANGES, KPI_DISTRICTS_WITHIN_CITY, KPI_MONTHLY_JUMPS]
