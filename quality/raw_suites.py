"""Suites over the raw layer: volumes per load, validity rates measured before
pseudonymisation, cross-source references, distributions and freshness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ingestion.contract import ENTITIES, Entity
from quality.config import Thresholds, sources_as_of
from quality.suite import Severity, Suite, gxe

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation


def _asset(entity: Entity) -> tuple[str, ...]:
    return ("raw", entity.source, entity.name)


def _all_true(column: str, mostly: float) -> Expectation:
    return gxe().ExpectColumnValuesToBeInSet(column=column, value_set=[True], mostly=mostly)


def _latest_load(entity: Entity) -> str:
    """The entity's latest load with its live row count before and after it (live rows grow
    by new keys and shrink by deletions)."""
    return f"""
        with loads as (
            select
                load_id, loaded_at, rows_read, rows_new, rows_deleted,
                sum(rows_new - rows_deleted) over (order by loaded_at, load_id) as live_after
            from meta.loads
            where source = '{entity.source}' and entity = '{entity.name}'
        )
        select
            load_id,
            rows_read,
            rows_deleted,
            live_after,
            live_after - rows_new + rows_deleted as live_before,
            rows_deleted / nullif(live_after - rows_new + rows_deleted, 0) as deleted_share
        from loads
        order by loaded_at desc, load_id desc
        limit 1
    """


def _volume_expectations(t: Thresholds) -> Sequence[Expectation]:
    return [
        gxe().ExpectTableRowCountToEqual(value=1),
        gxe().ExpectColumnValuesToBeBetween(column="live_after", min_value=1),
        gxe().ExpectColumnValuesToBeBetween(
            column="deleted_share", max_value=t.get("volume", "max_deleted_share")
        ),
    ]


def volume_suite(entity: Entity) -> Suite:
    return Suite(
        name="load_volume",
        asset=_asset(entity),
        severity=Severity.ERROR,
        description=(
            "The latest load left the entity non-empty and deleted at most the configured "
            "share of its live rows (a truncated source must not wipe the warehouse)."
        ),
        sql=_latest_load(entity),
        expectations=_volume_expectations,
        key_columns=("load_id",),
        row_level=False,
    )


def freshness_suite(entity: Entity) -> Suite:
    def expectations(t: Thresholds) -> Sequence[Expectation]:
        found = [
            gxe().ExpectColumnValuesToBeBetween(
                column="hours_since_load", max_value=t.get("freshness", "max_hours_since_load")
            )
        ]
        if entity.cursor:
            found.append(
                gxe().ExpectColumnValuesToBeBetween(
                    column="source_lag_days", max_value=t.get("freshness", "max_source_lag_days")
                )
            )
        return found

    return Suite(
        name="freshness",
        asset=_asset(entity),
        severity=Severity.WARN,
        description=(
            "The entity was loaded recently, and its newest record is close to the load time "
            "(to the end of the sources' as-of date when UNIONWH_SOURCES_AS_OF declares one)."
        ),
        sql=lambda _: _freshness_sql(entity, sources_as_of()),
        expectations=expectations,
        row_level=False,
    )


def _freshness_sql(entity: Entity, as_of: dt.date | None) -> str:
    """Hours since the latest load, and days from the newest record to the load, or to the
    end of the sources' as-of date (records and loads are stamped in Beijing time)."""
    reference = (
        f"timestamp '{as_of + dt.timedelta(days=1)} 00:00:00'" if as_of else "max(loaded_at)"
    )
    lag = (
        f"date_diff('hour', max(watermark), {reference}) / 24.0"
        if entity.cursor
        else "cast(null as double)"
    )
    judged = f"sources as of {as_of}" if as_of else "load time"
    return f"""
        select
            date_diff('minute', max(loaded_at), now() at time zone 'Asia/Shanghai') / 60.0
                as hours_since_load,
            {lag} as source_lag_days,
            '{judged}' as lag_judged_against
        from meta.loads
        where source = '{entity.source}' and entity = '{entity.name}'
    """


def _flag_ok(flag: str, present: str) -> str:
    """True when ``flag`` is absent, null when the checked value itself is absent."""
    return f"case when {present} then not list_contains(_quality_flags, '{flag}') end"


def _validity_suite(entity: Entity, description: str, checks: dict[str, tuple[str, str]]) -> Suite:
    """``checks``: output column -> (SQL that is true when valid, null when not applicable;
    the ``validity`` band it is held to)."""
    columns = ",\n".join(f"{sql} as {column}" for column, (sql, _) in checks.items())
    return Suite(
        name="validity",
        asset=_asset(entity),
        severity=Severity.ERROR,
        description=description,
        sql=f"""
            select {entity.key}, {columns}
            from raw.{entity.name}_current
            where not _is_deleted
        """,
        expectations=lambda t: [
            _all_true(column, t.get("validity", band)) for column, (_, band) in checks.items()
        ],
        key_columns=(entity.key,),
    )


MEMBER_VALIDITY = _validity_suite(
    ENTITIES["member"],
    "Shares of resident ID numbers with the right check character, phones in a valid "
    "format, and recorded genders matching the ID, all measured before pseudonymisation.",
    {
        "id_valid": ("id_valid", "id_check_min"),
        "phone_valid": ("phone_valid", "phone_format_min"),
        "gender_matches_id": (
            "case when id_gender is not null then gender = id_gender end",
            "gender_matches_id_min",
        ),
    },
)
UNION_VALIDITY = _validity_suite(
    ENTITIES["union_org"],
    "Share of unions whose own and employer's credit codes have the right check character.",
    {"uscc_valid": (_flag_ok("invalid_uscc_check", "union_uscc is not null"), "uscc_check_min")},
)
CASE_VALIDITY = _validity_suite(
    ENTITIES["case"],
    "Shares of cases whose employer credit code, claimants' ID numbers and claimants' "
    "phones are valid, measured before pseudonymisation.",
    {
        "employer_uscc_valid": (
            _flag_ok("invalid_uscc_check", "employer_uscc is not null"),
            "uscc_check_min",
        ),
        "claimant_ids_valid": (_flag_ok("invalid_id_check", "len(claimants) > 0"), "id_check_min"),
        "claimant_phones_valid": (
            _flag_ok("invalid_phone", "len(claimants) > 0"),
            "phone_format_min",
        ),
    },
)
HOTLINE_VALIDITY = _validity_suite(
    ENTITIES["hotline_request"],
    "Share of callers' phones in a valid format, measured before pseudonymisation.",
    {"caller_phone_valid": ("caller_phone_valid", "phone_format_min")},
)


def _reference_suite(entity: Entity, name: str, column: str, target: Entity, setting: str) -> Suite:
    return Suite(
        name=name,
        asset=_asset(entity),
        severity=Severity.ERROR,
        description=(
            f"Every {entity.name}.{column} resolves to a live {target.source}.{target.name} "
            f"(the configured share of them)."
        ),
        sql=f"""
            select
                r.{entity.key},
                t.{target.key} is not null as {column}_known
            from raw.{entity.name}_current as r
            left join raw.{target.name}_current as t
                on r.{column} = t.{target.key} and not t._is_deleted
            where not r._is_deleted and r.{column} is not null
        """,
        expectations=lambda t: [_all_true(f"{column}_known", t.get("reconciliation", setting))],
        key_columns=(entity.key,),
    )


# Cross-source references: (entity, check, column, target entity, reconciliation band).
_REFERENCES = (
    ("case", "handling_union_known", "handling_union_id", "union_org", "case_handling_union_min"),
    ("delivery", "union_known", "union_id", "union_org", "delivery_union_min"),
    ("hotline_request", "linked_case_resolves", "linked_case_id", "case",
     "hotline_linked_case_min"),
    ("hotline_request", "assigned_union_known", "assigned_union_id", "union_org",
     "hotline_assigned_union_min"),
    ("delivery", "member_known", "member_id", "member", "delivery_member_min"),
    ("delivery", "program_known", "program_code", "program", "delivery_program_min"),
    ("delivery", "station_known", "station_id", "station", "delivery_station_min"),
    ("station_visit", "station_known", "station_id", "station", "station_visit_station_min"),
)  # fmt: skip
REFERENCE_SUITES = [
    _reference_suite(ENTITIES[entity], name, column, ENTITIES[target], band)
    for entity, name, column, target, band in _REFERENCES
]
CASE_UNION_KNOWN, DELIVERY_UNION_KNOWN, HOTLINE_CASE_RESOLVES = REFERENCE_SUITES[:3]

NEW_FORM_JOIN_SHARE = Suite(
    name="new_form_join_share",
    asset=_asset(ENTITIES["membership_event"]),
    severity=Severity.WARN,
    description=("The share of new-form workers among the year's JOIN events stays in its band."),
    sql="""
        with joins as (
            select event_date, employment_form
            from raw.membership_event_current
            where not _is_deleted and event_type = 'JOIN'
        )
        select
            count(*) as joins,
            avg(case when employment_form = 'NEW_FORM' then 1.0 else 0.0 end) as new_form_share
        from joins
        where event_date > (select max(event_date) from joins) - interval 1 year
    """,
    expectations=lambda t: [
        gxe().ExpectColumnValuesToBeBetween(
            column="new_form_share",
            min_value=t.get("distribution", "new_form_join_share")[0],
            max_value=t.get("distribution", "new_form_join_share")[1],
        )
    ],
    row_level=False,
)


def _outcome_mix(t: Thresholds) -> Sequence[Expectation]:
    mix: dict[str, float] = t.get("distribution", "case_outcome_mix")
    return [
        gxe().ExpectColumnKLDivergenceToBeLessThan(
            column="outcome",
            partition_object={"values": list(mix), "weights": list(mix.values())},
            threshold=t.get("distribution", "case_outcome_max_kl"),
        )
    ]


CASE_OUTCOME_MIX = Suite(
    name="outcome_mix",
    asset=_asset(ENTITIES["case"]),
    severity=Severity.WARN,
    description=(
        "The outcomes of the year's closed cases stay close (KL divergence) to the expected mix."
    ),
    sql="""
        with closed as (
            select closed_at, outcome
            from raw.case_current
            where not _is_deleted and closed_at is not null and outcome is not null
        )
        select outcome
        from closed
        where closed_at > (select max(closed_at) from closed) - interval 1 year
    """,
    expectations=_outcome_mix,
    row_level=False,
)


def raw_suites() -> list[Suite]:
    """Every raw-layer suite: volume and freshness for each entity, then the specific ones."""
    generic = [
        make(entity) for entity in ENTITIES.values() for make in (volume_suite, freshness_suite)
    ]
    return generic + [
        MEMBER_VALIDITY,
        UNION_VALIDITY,
        CASE_VALIDITY,
        HOTLINE_VALIDITY,
        *REFERENCE_SUITES,
        NEW_FORM_JOIN_SHARE,
        CASE_OUTCOME_MIX,
    ]
