"""The dbt project as Dagster assets: every model and seed, dbt tests as asset checks."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ingestion.crash_points import crash_point
from orchestration.defs.dbt.project import dbt_project, ensure_manifest
from orchestration.defs.dbt.translator import translator
from orchestration.raw_assets import WAREHOUSE_POOL
from orchestration.resources import ENV_WAREHOUSE_PATH, WarehouseResource

# Each run leaves its own target directory (compiled SQL, logs, results: ~25 MB at any
# scale); without pruning a daily schedule fills the disk.
ENV_KEEP_DBT_TARGETS = "UNIONWH_KEEP_DBT_TARGETS"
KEEP_DBT_TARGETS = 10


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def warehouse_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """``dbt build`` of the selected models: seeds, models and their tests, in order."""
    # dbt runs inside dbt_project/, so hand it the warehouse as an absolute path.
    os.environ[ENV_WAREHOUSE_PATH] = str(Path(warehouse.path).resolve())
    invocation = dbt.cli(["build"], context=context)
    for event in invocation.stream():
        yield event
        crash_point("dbt.result")
    keep = int(os.environ.get(ENV_KEEP_DBT_TARGETS) or KEEP_DBT_TARGETS)
    prune_targets(invocation.target_path.parent, f"{context.op_def.name}-*", keep)


def prune_targets(root: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest run target directories matching ``pattern``."""
    runs = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[max(keep, 1) :]:
        shutil.rmtree(old, ignore_errors=True)
    return runs[max(keep, 1) :]
