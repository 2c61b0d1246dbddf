"""The data-quality suites as Dagster asset checks on the assets they validate.

One multi-asset check per source (its raw suites and a quarantine check per entity) and one
for the marts, each running its suites in one process so great-expectations is imported once.
Every check is blocking: a failure of ERROR severity stops the assets downstream of the
checked asset in the same run (dbt models after raw, publication after the marts); a WARN
failure is reported and the run goes on.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from ingestion.contract import ENTITIES, Entity
from orchestration.raw_assets import WAREHOUSE_POOL, raw_asset_key
from orchestration.resources import WarehouseResource
from quality.config import load_thresholds
from quality.gx_runner import docs_index, run_suites
from quality.mart_suites import mart_suites
from quality.quarantine import summarise_quarantine
from quality.raw_suites import raw_suites
from quality.suite import Suite

QUARANTINE_CHECK = "quarantine"


def _key(suite: Suite) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(list(suite.asset)), suite.name)


def _spec(suite: Suite) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        suite.name,
        asset=dg.AssetKey(list(suite.asset)),
        blocking=True,
        description=f"[great-expectations, {suite.severity.value}] {suite.description}",
        metadata={"gx_suite": suite.gx_name, "severity": suite.severity.value},
    )


def _quarantine_spec(entity: Entity) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        QUARANTINE_CHECK,
        asset=raw_asset_key(entity),
        blocking=True,
        description=(
            "Records the latest load rejected, by rule: WARN when any, ERROR above the "
            "configured share (quality/thresholds.yml, quarantine)."
        ),
    )


def _severity(value: str) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity(value)


def _suite_results(
    context: dg.AssetCheckExecutionContext, warehouse: Path, suites: Sequence[Suite]
) -> Iterator[dg.AssetCheckResult]:
    selected = context.selected_asset_check_keys
    chosen = [s for s in suites if _key(s) in selected]
    if not chosen:
        return
    docs = docs_index(warehouse)
    for outcome, suite in zip(run_suites(warehouse, chosen), chosen, strict=True):
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(list(suite.asset)),
            check_name=suite.name,
            passed=outcome.passed,
            severity=_severity(outcome.severity),
            metadata={**outcome.metadata(), "data_docs": dg.MetadataValue.path(str(docs))},
        )


def _quarantine_results(
    context: dg.AssetCheckExecutionContext, warehouse: Path, entities: Sequence[Entity]
) -> Iterator[dg.AssetCheckResult]:
    selected = context.selected_asset_check_keys
    chosen = [
        e for e in entities if dg.AssetCheckKey(raw_asset_key(e), QUARANTINE_CHECK) in selected
    ]
    if not chosen:
        return
    for outcome in summarise_quarantine(warehouse, chosen, load_thresholds()):
        yield dg.AssetCheckResult(
            asset_key=raw_asset_key(outcome.entity),
            check_name=QUARANTINE_CHECK,
            passed=outcome.passed,
            severity=_severity(outcome.severity.value),
            metadata=outcome.metadata(),
        )


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
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        path = Path(warehouse.path)
        yield from _quarantine_results(context, path, entities)
        yield from _suite_results(context, path, suites)

    return _checks


@dg.multi_asset_check(
    name="marts_quality",
    specs=[_spec(s) for s in mart_suites()],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def marts_quality(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    yield from _suite_results(context, Path(warehouse.path), mart_suites())


raw_quality = [source_checks(source) for source in ("membership", "disputes", "services")]
