"""Check results kept where the numbers are read.

Every run of a check appends its findings to ``quality.check_results`` in the warehouse, one
row per measure (the validated column). ``LATEST_SQL`` picks each check's latest run among
the checks the code defines now; publication copies it into the serving file as
``marts.data_quality`` and refuses to publish while one of them failed at ERROR. Rows hold
counts, shares and findings only; example keys stay in the warehouse (and in Dagster), never
in the serving file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from core.warehouse import connect
from ingestion.contract import ENTITIES
from quality.mart_suites import mart_suites
from quality.outcome import ExpectationOutcome, SuiteOutcome
from quality.quarantine import QuarantineOutcome
from quality.raw_suites import NOUNS, raw_asset, raw_suites
from quality.suite import Severity, Suite

RESULTS_TABLE = "quality.check_results"
QUARANTINE_CHECK = "quarantine"
# The results table's columns; the first ones, to checked_at, are the published
# ``marts.data_quality`` (the serving file's contract).
COLUMNS: dict[str, str] = {
    "asset": "varchar",
    "check_name": "varchar",
    "measure": "varchar",
    "severity": "varchar",
    "passed": "boolean",
    "records_checked": "bigint",
    "records_failing": "bigint",
    "failing_share": "double",
    "finding_en": "varchar",
    "finding_zh": "varchar",
    "checked_at": "timestamp",
    "observed": "json",
    "example_keys": "json",
    "run_id": "varchar",
}
PUBLISHED_COLUMNS = tuple(COLUMNS)[: tuple(COLUMNS).index("checked_at") + 1]


@dataclass(frozen=True, slots=True)
class CheckRow:
    asset: str
    check_name: str
    measure: str
    severity: str
    passed: bool
    records_checked: int | None
    records_failing: int | None
    failing_share: float | None
    finding_en: str | None
    finding_zh: str | None
    checked_at: dt.datetime
    observed: str  # JSON
    example_keys: str  # JSON
    run_id: str


_DDL = "create table if not exists {table} ({columns})".format(
    table=RESULTS_TABLE, columns=", ".join(f"{c} {t}" for c, t in COLUMNS.items())
)


def _measure(expectation: ExpectationOutcome) -> str:
    return expectation.column or expectation.expectation


def _finding(
    suite: Suite, measure: str, failing: int | None, total: int, share: float | None
) -> tuple[str, str]:
    en, zh = suite.findings.get(measure) or (
        f"{suite.asset_path}: {suite.name} ({measure}) failed",
        f"{suite.asset_path}：检查 {suite.name}（{measure}）未通过",
    )
    values = {
        "n": failing if failing is not None else "",
        "records": suite.nouns[0] if failing == 1 else suite.nouns[1],
        "total": total,
        "share": share or 0.0,
    }
    return en.format(**values), zh.format(**values)


def suite_rows(
    suite: Suite, outcome: SuiteOutcome, checked_at: dt.datetime, run_id: str = ""
) -> list[CheckRow]:
    """One row per expectation of a suite run."""
    rows = []
    for e in outcome.expectations:
        measure = _measure(e)
        failing = e.unexpected_count
        en, zh = (
            _finding(suite, measure, failing, outcome.rows, e.unexpected_share)
            if not e.success
            else (None, None)
        )
        rows.append(
            CheckRow(
                asset=suite.asset_path,
                check_name=suite.name,
                measure=measure,
                severity=outcome.severity,
                passed=e.success,
                records_checked=e.element_count if e.element_count is not None else outcome.rows,
                records_failing=failing,
                failing_share=e.unexpected_share,
                finding_en=en,
                finding_zh=zh,
                checked_at=checked_at,
                observed=json.dumps(
                    outcome.observed or {"observed_value": e.observed_value}, default=str
                ),
                example_keys=json.dumps(e.examples, default=str),
                run_id=run_id,
            )
        )
    return rows


def quarantine_rows(
    outcome: QuarantineOutcome, checked_at: dt.datetime, run_id: str = ""
) -> list[CheckRow]:
    entity = outcome.entity
    singular_en, plural_en, plural_zh = NOUNS[entity.name]
    records = singular_en if outcome.rows_quarantined == 1 else plural_en
    rules = ", ".join(f"{rule} {n}" for rule, n in outcome.by_rule.items())
    failed = not outcome.passed
    return [
        CheckRow(
            asset="/".join(raw_asset(entity)),
            check_name=QUARANTINE_CHECK,
            measure="",
            severity=outcome.severity.value,
            passed=outcome.passed,
            records_checked=outcome.rows_read,
            records_failing=outcome.rows_quarantined,
            failing_share=outcome.rate,
            finding_en=(
                f"{outcome.rows_quarantined} {records} rejected by the latest load ({rules})"
                if failed
                else None
            ),
            finding_zh=(
                f"最近一次加载拒收 {outcome.rows_quarantined} {plural_zh}（{rules}）"
                if failed
                else None
            ),
            checked_at=checked_at,
            observed=json.dumps(outcome.metadata(), default=str),
            example_keys="[]",
            run_id=run_id,
        )
    ]


def record(warehouse: Path, rows: Sequence[CheckRow]) -> None:
    """Append ``rows`` to the warehouse's results table (created on first use)."""
    if not rows:
        return
    with connect(warehouse) as con:
        con.execute("create schema if not exists quality")
        con.execute(_DDL)
        con.executemany(
            f"insert into {RESULTS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [list(asdict(row).values()) for row in rows],
        )


def defined_checks() -> list[tuple[str, str]]:
    """(asset path, check name) of every check the code defines now."""
    suites = [(s.asset_path, s.name) for s in [*raw_suites(), *mart_suites()]]
    return suites + [("/".join(raw_asset(e)), QUARANTINE_CHECK) for e in ENTITIES.values()]


def latest_sql(schema: str = "quality") -> str:
    """Each defined check's latest run, one row per measure, in the published columns."""
    pairs = ", ".join(f"('{asset}', '{name}')" for asset, name in defined_checks())
    return f"""
        with defined (asset, check_name) as (values {pairs}),

        runs as (
            select
                r.*,
                max(r.checked_at) over (partition by r.asset, r.check_name) as latest_at
            from {schema}.check_results as r
            semi join defined as d on r.asset = d.asset and r.check_name = d.check_name
        )

        select {", ".join(PUBLISHED_COLUMNS)}
        from runs
        where checked_at = latest_at
        order by severity, passed, asset, check_name, measure
    """


def _has_results(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> bool:
    where = "table_schema = 'quality' and table_name = 'check_results'"
    if catalog:
        where += f" and table_catalog = '{catalog}'"
    found = con.execute(f"select count(*) from information_schema.tables where {where}")
    return bool(found.fetchall()[0][0])


def published_select(con: duckdb.DuckDBPyConnection, catalog: str) -> str:
    """The select of ``marts.data_quality`` over the attached warehouse ``catalog``: empty,
    with the same columns, while no check has run."""
    if _has_results(con, catalog):
        return latest_sql(f"{catalog}.quality")
    nulls = ", ".join(f"cast(null as {COLUMNS[c]}) as {c}" for c in PUBLISHED_COLUMNS)
    return f"select {nulls} where false"


def blocking_failures(warehouse: Path) -> list[dict[str, Any]]:
    """The latest failed runs of ERROR checks: while any remains, nothing is published."""
    with connect(warehouse, read_only=True) as con:
        if not _has_results(con):
            return []
        rows = con.execute(
            f"select asset, check_name, measure, records_failing, finding_en "
            f"from ({latest_sql()}) where severity = ? and not passed",
            [Severity.ERROR.value],
        ).fetchall()
    keys = ("asset", "check_name", "measure", "records_failing", "finding_en")
    return [dict(zip(keys, row, strict=True)) for row in rows]
