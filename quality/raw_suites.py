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


def raw_asset(entity: Entity) -> tuple[str, ...]:
    """The raw asset a suite of ``entity`` checks: (raw, source, entity)."""
    return ("raw", entity.source, entity.name)


def _all_true(column: str) -> Expectation:
    return gxe().ExpectColumnValuesToBeInSet(column=column, value_set=[True])


# How findings name an entity's records: English singular and plural, Chinese with its
# measure word.
NOUNS: dict[str, tuple[str, str, str]] = {
    "union_org": ("union", "unions", "个工会"),
    "member": ("member", "members", "名会员"),
    "membership_event": ("membership event", "membership events", "条会员变动"),
    "honor": ("honor", "honors", "项荣誉"),
    "case": ("case", "cases", "件争议案件"),
    "hotline_request": ("hotline request", "hotline requests", "件热线诉求"),
    "program": ("service program", "service programs", "个服务项目"),
    "station": ("station", "stations", "个驿站"),
    "delivery": ("service delivery", "service deliveries", "条服务记录"),
    "station_visit": ("station-visit record", "station-visit records", "条驿站服务记录"),
}
# A referenced key's role in a finding.
ROLES: dict[str, tuple[str, str]] = {
    "handling_union": ("handling union", "承办工会"),
    "union": ("union", "工会"),
    "linked_case": ("linked case", "关联案件"),
    "assigned_union": ("assigned union", "承办工会"),
    "member": ("member", "会员"),
    "program": ("program", "服务项目"),
    "station": ("station", "驿站"),
}


def _latest_load(entity: Entity, t: Thresholds) -> str:
    """One row: the entity's latest load with its live row count before and after it (live
    rows grow by new keys and shrink by deletions), and the two verdicts. An entity its
    source has not delivered yet has no load and passes: an empty source is allowed."""
    band = float(t.get("volume", "max_deleted_share"))
    min_rows = int(t.get("volume", "min_deleted_rows"))
    return f"""
        with loads as (
            select
                load_id, loaded_at, rows_read, rows_new, rows_deleted,
                sum(rows_new - rows_deleted) over (order by loaded_at, load_id) as live_after
            from meta.loads
            where source = '{entity.source}' and entity = '{entity.name}'
        ),

        latest as (
            select
                load_id,
                rows_read,
                rows_deleted,
                live_after,
                live_after - rows_new + rows_deleted as live_before
            from loads
            order by loaded_at desc, load_id desc
            limit 1
        )

        select
            latest.load_id,
            coalesce(latest.rows_read, 0) as rows_read,
            coalesce(latest.rows_deleted, 0) as rows_deleted,
            coalesce(latest.live_before, 0) as live_before,
            coalesce(latest.live_after, 0) as live_after,
            coalesce(latest.rows_deleted / nullif(latest.live_before, 0), 0) as deleted_share,
            coalesce(latest.live_before > 0 and latest.live_after = 0, false) as emptied,
            coalesce(
                latest.rows_deleted / nullif(latest.live_before, 0) > {band}
                and latest.rows_deleted >= {min_rows},
                false
            ) as mass_deleted
        from (select 1) as one_row
        left join latest on true
    """


def _volume_expectations(t: Thresholds) -> Sequence[Expectation]:
    return [
        gxe().ExpectColumnValuesToBeInSet(column="emptied", value_set=[False]),
        gxe().ExpectColumnValuesToBeInSet(column="mass_deleted", value_set=[False]),
    ]


def volume_suite(entity: Entity) -> Suite:
    _, plural_en, plural_zh = NOUNS[entity.name]
    return Suite(
        name="load_volume",
        asset=raw_asset(entity),
        severity=Severity.ERROR,
        description=(
            "The latest load did not empty the entity and deleted at most the configured "
            "share (and count) of its live rows: a truncated source must not wipe the figures."
        ),
        sql=lambda t: _latest_load(entity, t),
        expectations=_volume_expectations,
        key_columns=("load_id",),
        row_level=False,
        findings={
            "emptied": (
                f"the latest load emptied {plural_en}",
                f"最近一次加载清空了{plural_zh[1:]}",
            ),
            "mass_deleted": (
                f"the latest load deleted more {plural_en} than allowed",
                f"最近一次加载删除的{plural_zh[1:]}超出允许范围",
            ),
        },
    )


def _balance_sql(entity: Entity) -> str:
    """The entity's latest load, with what it read and where every row went. A load
    recorded before the balance was kept (no ``rows_reconciled``) is not judged."""
    return f"""
        select
            load_id,
            rows_read,
            rows_new + rows_updated + rows_unchanged as rows_loaded,
            rows_quarantined,
            rows_reconciled,
            rows_read - (rows_new + rows_updated + rows_unchanged + rows_quarantined
                + rows_reconciled) as rows_unaccounted,
            rows_read = rows_new + rows_updated + rows_unchanged + rows_quarantined
                + rows_reconciled as balanced
        from meta.loads
        where source = '{entity.source}' and entity = '{entity.name}'
        order by loaded_at desc, load_id desc
        limit 1
    """


def balance_suite(entity: Entity) -> Suite:
    _, plural_en, plural_zh = NOUNS[entity.name]
    return Suite(
        name="load_balance",
        asset=raw_asset(entity),
        severity=Severity.ERROR,
        description=(
            "The latest load accounted for every row it read: read = loaded (new, updated, "
            "unchanged) + quarantined + reconciled (a duplicate superseded in the same load, "
            "a record quarantined before, a withdrawn revision). A row a loader drops "
            "silently would be missing from every figure."
        ),
        sql=_balance_sql(entity),
        expectations=lambda _: [_all_true("balanced")],
        key_columns=("load_id",),
        row_level=False,
        findings={
            "balanced": (
                f"the latest load of {plural_en} lost rows: read is not loaded + "
                "quarantined + reconciled",
                f"最近一次加载的{plural_zh[1:]}读取行数不等于入库、隔离与核对行数之和",
            )
        },
    )


def freshness_suite(entity: Entity) -> Suite:
    _, plural_en, plural_zh = NOUNS[entity.name]

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
        asset=raw_asset(entity),
        severity=Severity.WARN,
        description=(
            "The entity was loaded recently, and its newest record is close to the load time "
            "(to the end of the sources' as-of date when UNIONWH_SOURCES_AS_OF declares one)."
        ),
        sql=lambda _: _freshness_sql(entity, sources_as_of()),
        expectations=expectations,
        row_level=False,
        findings={
            "hours_since_load": (
                f"{plural_en} were not loaded within the configured hours",
                f"{plural_zh[1:]}超过规定时间未加载",
            ),
            "source_lag_days": (
                f"the newest {plural_en} are older than the configured days",
                f"最新的{plural_zh[1:]}已超过规定天数未更新",
            ),
        },
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


def _validity_suite(
    entity: Entity, description: str, checks: dict[str, tuple[str, str, str]]
) -> Suite:
    """``checks``: measure -> (SQL that is true when valid, null when not applicable; the
    English and the Chinese finding). Flagged records are loaded and count (SOURCES.md):
    every one is reported, none blocks."""
    columns = ",\n".join(f"{sql} as {column}" for column, (sql, _, _) in checks.items())
    return Suite(
        name="validity",
        asset=raw_asset(entity),
        severity=Severity.WARN,
        description=description,
        sql=f"""
            select {entity.key}, {columns}, _load_id
            from raw.{entity.name}_current
            where not _is_deleted
        """,
        expectations=lambda t: [_all_true(column) for column in checks],
        key_columns=(entity.key,),
        load_column="_load_id",
        nouns=NOUNS[entity.name][:2],
        findings={column: (en, zh) for column, (_, en, zh) in checks.items()},
    )


MEMBER_VALIDITY = _validity_suite(
    ENTITIES["member"],
    "Members whose resident ID number has a wrong check character, whose phone is not in a "
    "valid format, or whose recorded gender disagrees with the ID (flagged: loaded, counted, "
    "reported), measured before pseudonymisation.",
    {
        "id_valid": (
            "id_valid",
            "{n} {records} with an invalid ID number check character",
            "{n} 名会员的身份证号校验位无效",
        ),
        "phone_valid": (
            "phone_valid",
            "{n} {records} with a phone that is not 11 digits",
            "{n} 名会员的手机号不是 11 位",
        ),
        "gender_matches_id": (
            "case when id_gender is not null then gender = id_gender end",
            "{n} {records} whose gender disagrees with their ID number",
            "{n} 名会员的性别与身份证号不符",
        ),
    },
)
UNION_VALIDITY = _validity_suite(
    ENTITIES["union_org"],
    "Unions whose own or employer's credit code (USCC) has a wrong check character (flagged).",
    {
        "uscc_valid": (
            _flag_ok("invalid_uscc_check", "union_uscc is not null"),
            "{n} {records} with an invalid USCC",
            "{n} 个工会的统一社会信用代码校验位无效",
        )
    },
)
CASE_VALIDITY = _validity_suite(
    ENTITIES["case"],
    "Cases whose employer credit code, claimants' ID numbers or claimants' phones are "
    "invalid (flagged), measured before pseudonymisation.",
    {
        "employer_uscc_valid": (
            _flag_ok("invalid_uscc_check", "employer_uscc is not null"),
            "{n} {records} with an invalid employer USCC",
            "{n} 件案件的用人单位统一社会信用代码校验位无效",
        ),
        "claimant_ids_valid": (
            _flag_ok("invalid_id_check", "len(claimants) > 0"),
            "{n} {records} with a claimant's invalid ID number",
            "{n} 件案件有申请人身份证号校验位无效",
        ),
        "claimant_phones_valid": (
            _flag_ok("invalid_phone", "len(claimants) > 0"),
            "{n} {records} with a claimant's phone that is not 11 digits",
            "{n} 件案件有申请人手机号不是 11 位",
        ),
    },
)
HOTLINE_VALIDITY = _validity_suite(
    ENTITIES["hotline_request"],
    "Hotline requests whose caller's phone is not in a valid format (flagged), measured "
    "before pseudonymisation.",
    {
        "caller_phone_valid": (
            "caller_phone_valid",
            "{n} {records} with a caller phone that is not 11 digits",
            "{n} 件热线诉求的来电号码不是 11 位",
        )
    },
)


def _reference_suite(entity: Entity, name: str, column: str, target: Entity, role: str) -> Suite:
    _, plural_en, plural_zh = NOUNS[entity.name]
    role_en, role_zh = ROLES[role]
    return Suite(
        name=name,
        asset=raw_asset(entity),
        severity=Severity.WARN,
        description=(
            f"{entity.name} records whose {column} does not (yet) resolve to a live "
            f"{target.source}.{target.name}. Reconciled (SOURCES.md): the fact is kept, linked "
            "to the unknown member, counted by its own attributes and re-linked when the key "
            "arrives; reported, never blocking."
        ),
        sql=f"""
            select
                r.{entity.key},
                t.{target.key} is not null as {column}_known,
                r._load_id
            from raw.{entity.name}_current as r
            left join raw.{target.name}_current as t
                on r.{column} = t.{target.key} and not t._is_deleted
            where not r._is_deleted and r.{column} is not null
        """,
        expectations=lambda t: [_all_true(f"{column}_known")],
        key_columns=(entity.key,),
        load_column="_load_id",
        nouns=NOUNS[entity.name][:2],
        findings={
            f"{column}_known": (
                f"{{n}} {{records}} whose {role_en} is not yet known",
                f"{{n}} {plural_zh}的{role_zh}尚未知晓",
            )
        },
    )


# Cross-source references: (entity, check, column, target entity, the target's role).
_REFERENCES = (
    ("case", "handling_union_known", "handling_union_id", "union_org", "handling_union"),
    ("delivery", "union_known", "union_id", "union_org", "union"),
    ("hotline_request", "linked_case_resolves", "linked_case_id", "case", "linked_case"),
    ("hotline_request", "assigned_union_known", "assigned_union_id", "union_org",
     "assigned_union"),
    ("delivery", "member_known", "member_id", "member", "member"),
    ("delivery", "program_known", "program_code", "program", "program"),
    ("delivery", "station_known", "station_id", "station", "station"),
    ("station_visit", "station_known", "station_id", "station", "station"),
)  # fmt: skip
REFERENCE_SUITES = [
    _reference_suite(ENTITIES[entity], name, column, ENTITIES[target], role)
    for entity, name, column, target, role in _REFERENCES
]
CASE_UNION_KNOWN, DELIVERY_UNION_KNOWN, HOTLINE_CASE_RESOLVES = REFERENCE_SUITES[:3]


def _new_form_share_sql(t: Thresholds) -> str:
    minimum = int(t.get("distribution", "min_records"))
    return f"""
        with joins as (
            select event_date, employment_form
            from raw.membership_event_current
            where not _is_deleted and event_type = 'JOIN'
        ),

        year_joins as (
            select employment_form
            from joins
            where event_date > (select max(event_date) from joins) - interval 1 year
        )

        select
            count(*) as joins,
            -- too few joins to judge a share: not judged (null)
            case when count(*) >= {minimum} then
                avg(case when employment_form = 'NEW_FORM' then 1.0 else 0.0 end)
            end as new_form_share
        from year_joins
    """


NEW_FORM_JOIN_SHARE = Suite(
    name="new_form_join_share",
    asset=raw_asset(ENTITIES["membership_event"]),
    severity=Severity.WARN,
    description=(
        "The share of new-form workers among the year's JOIN events stays in its band "
        "(judged from distribution.min_records joins on)."
    ),
    sql=_new_form_share_sql,
    expectations=lambda t: [
        gxe().ExpectColumnValuesToBeBetween(
            column="new_form_share",
            min_value=t.get("distribution", "new_form_join_share")[0],
            max_value=t.get("distribution", "new_form_join_share")[1],
        )
    ],
    row_level=False,
    findings={
        "new_form_share": (
            "the new-form share of the year's joins is outside its band",
            "本年度入会中新就业形态占比超出正常范围",
        )
    },
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
    asset=raw_asset(ENTITIES["case"]),
    severity=Severity.WARN,
    description=(
        "The outcomes of the year's closed cases stay close (KL divergence) to the expected "
        "mix (judged from distribution.min_records closed cases on)."
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
    judged_from=("distribution", "min_records"),
    findings={
        "outcome": (
            "the outcomes of the year's closed cases diverge from the expected mix",
            "本年度结案结果构成偏离预期",
        )
    },
)


def raw_suites() -> list[Suite]:
    """Every raw-layer suite: volume, balance and freshness for each entity, then the
    specific ones."""
    generic = [
        make(entity)
        for entity in ENTITIES.values()
        for make in (volume_suite, balance_suite, freshness_suite)
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
