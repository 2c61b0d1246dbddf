"""What the three source areas share: raw asset keys and specs, the warehouse pool, and the
translation of a committed load into Dagster materializations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import dagster as dg

from ingestion.contract import Entity
from ingestion.raw_store import EntityResult
from orchestration.lib.freshness import refresh_freshness

# Only one process may write the DuckDB file at a time; every asset that writes it is in this
# pool, and the instance (orchestration/dagster.yaml) limits pools to one slot.
WAREHOUSE_POOL = "duckdb_warehouse"


def raw_asset_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity.source, entity.name])


def history_asset_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity.source, f"{entity.name}_history"])


def raw_specs(
    entities: Iterable[Entity], descriptions: dict[str, str], history: Iterable[Entity] = ()
) -> list[dg.AssetSpec]:
    """One asset per entity (its reconciled current view), plus one per entity in
    ``history`` whose every committed version feeds SCD2 models (``raw.<entity>``)."""
    current = [
        dg.AssetSpec(
            raw_asset_key(e),
            group_name=e.source,
            kinds={"duckdb", "parquet"},
            description=descriptions[e.name],
            freshness_policy=refresh_freshness(),
            metadata={
                "raw_view": f"raw.{e.name}",
                "current_view": f"raw.{e.name}_current",
                "key": e.key,
            },
        )
        for e in entities
    ]
    versions = [
        dg.AssetSpec(
            history_asset_key(e),
            group_name=e.source,
            kinds={"duckdb", "parquet"},
            description=f"Every committed version of {e.source}.{e.name} (append-only history).",
            metadata={"raw_view": f"raw.{e.name}", "key": e.key},
        )
        for e in history
    ]
    return current + versions


def _jsonable(value: object) -> object:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def materializations(
    context: dg.AssetExecutionContext,
    entities: Iterable[Entity],
    results: list[EntityResult],
    history: Iterable[Entity] = (),
) -> Iterator[dg.MaterializeResult]:
    """One MaterializeResult per entity, with the load's counts (never record values)."""
    by_name = {r.entity: r for r in results}
    for entity in history:
        r = by_name[entity.name]
        yield dg.MaterializeResult(
            asset_key=history_asset_key(entity),
            metadata={"load_id": r.load_id, "versions_appended": r.rows_new + r.rows_updated},
        )
    for entity in entities:
        r = by_name[entity.name]
        context.log.info(
            f"{entity.source}.{entity.name}: read {r.rows_read}, new {r.rows_new}, "
            f"updated {r.rows_updated}, unchanged {r.rows_unchanged}, deleted {r.rows_deleted}, "
            f"quarantined {r.rows_quarantined}, reconciled {r.rows_reconciled}, "
            f"flagged {r.rows_flagged}"
        )
        yield dg.MaterializeResult(
            asset_key=raw_asset_key(entity),
            metadata={
                "load_id": r.load_id,
                "rows_read": r.rows_read,
                "rows_new": r.rows_new,
                "rows_updated": r.rows_updated,
                "rows_unchanged": r.rows_unchanged,
                "rows_deleted": r.rows_deleted,
                "rows_quarantined": r.rows_quarantined,
                "rows_flagged": r.rows_flagged,
                "rows_reconciled": r.rows_reconciled,
                "rows_unaccounted": r.unaccounted,
                "reconciled_by_reason": dg.MetadataValue.json(r.reconciled_by_reason),
                "files_processed": r.files,
                "watermark": r.watermark.isoformat(sep=" ") if r.watermark else "",
                "quarantined_by_rule": dg.MetadataValue.json(r.quarantined_by_rule),
                "flagged_by_rule": dg.MetadataValue.json(r.flagged_by_rule),
                "reconciled": dg.MetadataValue.json(_jsonable(r.report)),
            },
        )
