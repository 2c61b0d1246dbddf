"""The dbt project as Dagster assets: every model and seed, dbt tests as asset checks."""

import os
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
    for event in dbt.cli(["build"], context=context).stream():
        yield event
        crash_point("dbt.result")
