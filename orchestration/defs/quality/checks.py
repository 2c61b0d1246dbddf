"""The data-quality suites as Dagster asset checks on the assets they validate.

One multi-asset check per source (its raw suites and a quarantine check per entity) and one
for the marts, each running its suites in one process so great-expectations is imported once.
Every run's findings are kept in the warehouse (``quality.results``), where publication reads
them.

Raw checks never stop the models: the warehouse always holds the newest data for the data
team. They are blocking only so that they run before dbt, and report to Dagster as WARN; a
raw check of ERROR severity (a load that empties or mass-deletes an entity, an unusable
input) blocks publication instead, through the serving asset's gate. Mart checks report their
own severity, and an ERROR failure stops publication in the same run.
"""

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import dagster as dg

from ingestion.contract import ENTITIES, Entity
from ingestion.raw_store import beijing_now
from orchestration.lib.automation import on_arrival
from orchestration.lib.raw_assets import WAREHOUSE_POOL, raw_asset_key
from orchestration.lib.resources import WarehouseResource
from quality.config import load_thresholds
from quality.gx_runner import docs_index, run_suites
from quality.mart_suites import mart_suites
from quality.quarantine import summarise_quarantine
from quality.raw_suites import raw_suites
from quality.results import QUARANTINE_CHECK, CheckRow, quarantine_rows, record, suite_rows
from quality.suite import Severity, Suite


def _key(suite: Suite) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(list(suite.asset)), suite.name)


def _blocks(suite: Suite) -> str:
    return "publication" if suite.severity is Severity.ERROR else "nothing"


def _spec(suite: Suite) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        suite.name,
        asset=dg.AssetKey(list(suite.asset)),
        blocking=True,
        description=(
            f"[great-expectations, {suite.severity.value}, blocks {_blocks(suite)}] "
            f"{suite.description}"
        ),
        metadata={
            "gx_suite": suite.gx_name,
            "severity": suite.severity.value,
            "blocks": _blocks(suite),
        },
        automation_condition=on_arrival(),
    )


def _quarantine_spec(entity: Entity) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        QUARANTINE_CHECK,
        asset=raw_asset_key(entity),
        blocking=True,
        description=(
            "[WARN when any, blocks publication above the band] Records the latest load "
            "rejected, by rule: WARN when any (they count nowhere), ERROR above the configured "
            "share and count (quality/thresholds.yml, quarantine): an unusable input."
        ),
        automation_condition=on_arrival(),
    )


def _dagster_severity(severity: str, raw: bool) -> dg.AssetCheckSeverity:
    """A raw check never stops the models: Dagster sees WARN, publication's gate the rest."""
    return dg.AssetCheckSeverity.WARN if raw else dg.AssetCheckSeverity(severity)


class QualityConfig(dg.Config):
    """``whole``: validate every row with great-expectations (the weekly full refresh), not
    only the rows whose verdict is news (of loads the suites have not validated yet, or that
    may fail); the other rows are counted in DuckDB either way, so the findings are the same."""

    whole: bool = False


def _suite_results(
    context: dg.AssetCheckExecutionContext,
    warehouse: Path,
    suites: Sequence[Suite],
    checked_at: dt.datetime,
    whole: bool = False,
) -> Iterator[tuple[dg.AssetCheckResult, list[CheckRow]]]:
    selected = context.selected_asset_check_keys
    chosen = [s for s in suites if _key(s) in selected]
    if not chosen:
        return
    docs = docs_index(warehouse)
    for outcome, suite in zip(run_suites(warehouse, chosen, whole=whole), chosen, strict=True):
        result = dg.AssetCheckResult(
            asset_key=dg.AssetKey(list(suite.asset)),
            check_name=suite.name,
            passed=outcome.passed,
            severity=_dagster_severity(outcome.severity, raw=suite.asset[0] == "raw"),
            metadata={
                **outcome.metadata(),
                "severity": outcome.severity,
                "data_docs": dg.MetadataValue.path(str(docs)),
            },
        )
        yield result, suite_rows(suite, outcome, checked_at, context.run.run_id)


def _quarantine_results(
    context: dg.AssetCheckExecutionContext,
    warehouse: Path,
    entities: Sequence[Entity],
    checked_at: dt.datetime,
) -> Iterator[tuple[dg.AssetCheckResult, list[CheckRow]]]:
    selected = context.selected_asset_check_keys
    chosen = [
        e for e in entities if dg.AssetCheckKey(raw_asset_key(e), QUARANTINE_CHECK) in selected
    ]
    if not chosen:
        return
    for outcome in summarise_quarantine(warehouse, chosen, load_thresholds()):
        result = dg.AssetCheckResult(
            asset_key=raw_asset_key(outcome.entity),
            check_name=QUARANTINE_CHECK,
            passed=outcome.passed,
            severity=_dagster_severity(outcome.severity.value, raw=True),
            metadata={**outcome.metadata(), "severity": outcome.severity.value},
        )
        yield result, quarantine_rows(outcome, checked_at, context.run.run_id)


def _recorded(
    warehouse: Path, found: Iterable[tuple[dg.AssetCheckResult, list[CheckRow]]]
) -> Iterator[dg.AssetCheckResult]:
    """The results, once their rows are kept in the warehouse for publication to read."""
    pairs = list(found)
    record(warehouse, [row for _, rows in pairs for row in rows])
    for result, _ in pairs:
        yield result


def source_checks(source: str) -> dg.AssetChecksDefinition:
    """The raw-layer suites and quarantine checks of one source system."""
    suites = [s for s in raw_suites() if s.asset[1] == source]
    entities = [e for e in ENTITIES.values() if e.source == source]

    @dg.multi_asset_check(
        name=f"{source}_raw_quality",
        specs=[_spec(s) for s in suites] + [_quarantine_spec(e) for e in entities],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext,
        config: QualityConfig,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.AssetCheckResult]:
        path = Path(warehouse.path)
        now = beijing_now()
        yield from _recorded(
            path,
            [
                *_quarantine_results(context, path, entities, now),
                *_suite_results(context, path, suites, now, whole=config.whole),
            ],
        )

    return _checks


@dg.multi_asset_check(
    name="marts_quality",
    specs=[_spec(s) for s in mart_suites()],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def marts_quality(
    context: dg.AssetCheckExecutionContext, config: QualityConfig, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    path = Path(warehouse.path)
    found = _suite_results(context, path, mart_suites(), beijing_now(), whole=config.whole)
    yield from _recorded(path, found)


raw_quality = [source_checks(source) for source in ("membership", "disputes", "services")]
