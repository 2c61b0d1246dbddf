"""Suites over the marts BI reads: the KPI table's values, its city/district arithmetic, and
month-over-month jumps that nobody has explained."""

from __future__ import annotations

from quality.config import Thresholds
from quality.raw_suites import NOUNS
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
    nouns=("KPI value", "KPI values"),
    findings={
        "amount": ("{n} negative {records}", "{n} 个指标值为负数"),
        "rate": ("{n} rates outside 0..1", "{n} 个比率超出 0 至 1"),
        "value_present": ("{n} missing {records}", "{n} 个指标值缺失"),
    },
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
    nouns=("KPI period", "KPI periods"),
    findings={
        "excess": (
            "{n} {records} whose districts add up to more than the city",
            "{n} 个指标期间的各区合计超过全市",
        )
    },
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
    nouns=("city-wide monthly move", "city-wide monthly moves"),
    findings={
        "allowed_change,change": (
            "{n} {records} beyond their band that no explanation covers",
            "{n} 个全市月度指标变动超出范围且未获解释",
        )
    },
)


# Fact entities and their fact tables: (entity, fact, the fact's expression of the raw
# layer's record key).
_FACTS = (
    ("membership_event", "fct_membership_events", "event_id"),
    ("honor", "fct_honors", "honor_id"),
    ("case", "fct_dispute_cases", "case_id"),
    ("hotline_request", "fct_hotline_requests", "request_id"),
    ("delivery", "fct_service_deliveries", "delivery_id"),
    ("station_visit", "fct_station_visits",
     "station_id || '|' || strftime(visit_date, '%Y-%m-%d')"),
)  # fmt: skip


def _key_digest(key: str, rows: str) -> str:
    """One row: how many rows ``rows`` (a relation and its filter) holds, and the sum of the
    hashes of their ``key``."""
    return f"select count(*), coalesce(sum(hash({key})), 0) from {rows}"


def _reconciliation_suite(entity: str, fact: str, fact_key: str) -> Suite:
    _, plural_en, plural_zh = NOUNS[entity]
    raw_key = "cast(_record_key as varchar)"
    live_raw = f"raw.{entity}_current where not _is_deleted"
    fact_key = f"cast({fact_key} as varchar)"
    return Suite(
        name="reconciled_with_raw",
        asset=("marts", fact),
        severity=Severity.ERROR,
        description=(
            f"Every live raw {entity} record appears exactly once in {fact}, and the fact holds "
            "nothing else: the records the KPIs count are the records the sources delivered."
        ),
        sql=f"""
            with raw_keys as (
                select {raw_key} as record_key
                from {live_raw}
            ),

            fact_keys as (
                select {fact_key} as record_key, count(*) as times
                from marts.{fact}
                group by 1
            )

            select
                record_key,
                coalesce(fact_keys.times, 0) as times_in_fact,
                raw_keys.record_key is not null as live_in_raw
            from raw_keys
            full join fact_keys using (record_key)
        """,
        expectations=lambda t: [
            gxe().ExpectColumnValuesToBeBetween(column="times_in_fact", min_value=1, max_value=1),
            gxe().ExpectColumnValuesToBeInSet(column="live_in_raw", value_set=[True]),
        ],
        key_columns=("record_key",),
        expected_rows="times_in_fact = 1 and live_in_raw",
        # The raw layer's current rows hold one row per key (the raw store replaces a key's
        # row; dbt's unique test of the source checks it each build), so the fact's keys
        # holding the same count and sum of hashes as the raw layer's live keys means every
        # live key is in the fact once and nothing else is: two scans instead of a join of
        # millions of keys. A lost key and a repeated one cannot cancel out but by a 64-bit
        # hash collision; the weekly whole run (--whole) reads the join regardless.
        agreement=(_key_digest(raw_key, live_raw), _key_digest(fact_key, f"marts.{fact}")),
        nouns=NOUNS[entity][:2],
        findings={
            "times_in_fact": (
                "{n} live {records} missing from or repeated in the published facts",
                f"{{n}} {plural_zh}在发布的事实表中缺失或重复",
            ),
            "live_in_raw": (
                "{n} published {records} that the sources no longer hold",
                f"{{n}} {plural_zh}已不在源系统中却仍被发布",
            ),
        },
    )


RECONCILIATION_SUITES = [_reconciliation_suite(*fact) for fact in _FACTS]


def mart_suites() -> list[Suite]:
    return [KPI_VALUE_RANGES, KPI_DISTRICTS_WITHIN_CITY, KPI_MONTHLY_JUMPS, *RECONCILIATION_SUITES]
