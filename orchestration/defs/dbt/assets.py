"""The dbt project as Dagster assets: every model and seed, dbt tests as asset checks."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from core import source_free
from core.crash_points import crash_point
from core.settings import ENV_RAW_DIR, ENV_SPARK_DIR, ENV_WAREHOUSE_PATH
from core.warehouse import connect
from orchestration.defs.dbt.project import (
    PARSE_STATES,
    dbt_project,
    ensure_manifest,
    invocation_target,
    keep_parse_state,
)
from orchestration.defs.dbt.spark_marts import built_marts, land_marts
from orchestration.defs.dbt.translator import translator
from orchestration.lib.automation import on_arrival
from orchestration.lib.raw_assets import WAREHOUSE_POOL
from orchestration.lib.resources import WarehouseResource
from serving.dbt_docs import docs_dir, is_current, publish_docs, site_inputs

# Each run leaves its own target directory (compiled SQL, logs, results: ~25 MB at any
# scale); without pruning a daily schedule fills the disk.
ENV_KEEP_DBT_TARGETS = "UNIONWH_KEEP_DBT_TARGETS"
KEEP_DBT_TARGETS = 10
# The profile's DuckDB target, named by the build and the docs alike even though it is the
# default: dbt reuses its parse state only for the target it parsed for (keep_parse_state).
DUCKDB_TARGET = "duckdb"


class DbtBuildConfig(dg.Config):
    """``full_refresh``: rebuild the incremental models from the whole raw history (dbt's
    ``--full-refresh``), as the weekly full refresh does; the nightly run builds only from
    the loads each model has not processed.

    ``unit_tests``: run dbt's unit tests too. Off by default: their inputs are fixtures, not
    the day's data, so a production run repeats the same verdict at a cost of its own (14
    tests, ~3 s at any scale); dbt recommends running them in development and CI, where the
    test suite does (``tests/test_dbt_unit_tests.py``, and the Spark build)."""

    full_refresh: bool = False
    unit_tests: bool = False


def dbt_build_args(engine: str, full_refresh: bool, unit_tests: bool = False) -> list[str]:
    args = ["build", "--target", "spark" if engine == "spark" else DUCKDB_TARGET]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def warehouse_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    """``dbt build`` of the selected models: seeds, models and their tests, in order.

    On Spark (``UNIONWH_ENGINE=spark``): the committed raw layer is registered in the Spark
    catalog first, the build runs there (target ``spark``), and the marts it built are landed
    in the DuckDB warehouse for the quality suites, the publication and BI."""
    # dbt runs inside dbt_project/, so hand it the warehouse as an absolute path.
    path = Path(warehouse.path).resolve()
    os.environ[ENV_WAREHOUSE_PATH] = str(path)
    if warehouse.engine == "spark":
        spark_dir = warehouse.spark_path()
        os.environ[ENV_SPARK_DIR] = str(spark_dir)
        rows = register_raw_in_spark(warehouse)
        context.log.info(f"raw layer registered in the Spark catalog at {spark_dir}: {rows}")
    args = dbt_build_args(warehouse.engine, config.full_refresh, config.unit_tests)
    # Read once: what is left out and what is recorded after the build are the same project.
    manifest = json.loads(ensure_manifest().read_text())
    left_out = source_free_left_out(context, manifest, path, warehouse.engine, config.full_refresh)
    if left_out:
        args += left_out.args
        # Selected but left out: without an output of their own, Dagster would skip every
        # asset downstream of them (the quality suites, the serving file) in this run. They
        # are upstream of everything dbt builds: a multi-asset yields in topological order.
        for key in left_out.keys:
            yield dg.Output(
                None,
                output_name=context.assets_def.get_output_name_for_asset_key(key),
                metadata={"rebuilt": False, "current_since": left_out.recorded_at},
            )
    # Named as dagster-dbt names its own target directories: <op>-<run>-<unique>.
    name = f"{context.op_def.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target = invocation_target(Path(dbt_project.project_dir) / "target" / name, path)
    invocation = dbt.cli(args, context=context, target_path=target)
    crash_point("dbt.started")
    for event in invocation.stream():
        yield event
        crash_point("dbt.result")
    keep_parse_state(invocation.target_path, path)
    built_here = not left_out and warehouse.engine != "spark"
    if built_here and record_source_free(invocation.target_path, manifest, path):
        context.log.info("source-free nodes built and tested: recorded for the nightly builds")
    if warehouse.engine == "spark":
        landed = land_marts(
            Path(warehouse.path), warehouse.spark_path(), built_marts(invocation.target_path)
        )
        context.log.info(f"marts landed from Spark into the warehouse: {landed}")
    keep = int(os.environ.get(ENV_KEEP_DBT_TARGETS) or KEEP_DBT_TARGETS)
    prune_targets(invocation.target_path.parent, f"{context.op_def.name}-*", keep)
    prune_targets(PARSE_STATES, "*.msgpack", keep)


@dataclass(frozen=True)
class LeftOut:
    """What a nightly build leaves out: dbt's arguments, the assets (seeds first), when they
    were built."""

    args: list[str]
    keys: list[dg.AssetKey]
    recorded_at: str


def source_free_left_out(
    context: dg.AssetExecutionContext,
    manifest: dict[str, Any],
    warehouse: Path,
    engine: str,
    full_refresh: bool,
) -> LeftOut | None:
    """The source-free nodes a nightly build of the whole project leaves out when the
    warehouse holds them as the project defines them (``core/source_free.py``). A full
    refresh, a Spark build and a run of part of the graph build what they select; one that
    may rebuild a source-free node forgets the record first, so that a run stopped half-way
    leaves none behind."""
    # Not the selected keys against the definition's: a subsetted definition's keys are the
    # subset's (an automation run of what a load fed would pass for the whole project).
    whole = not context.is_subset
    nodes = sorted(source_free.built_nodes(manifest), key=lambda n: n["resource_type"] != "seed")
    keys = [translator.get_asset_spec(manifest, n["unique_id"], dbt_project).key for n in nodes]
    with connect(warehouse) as con:
        if whole and engine != "spark" and not full_refresh:
            args = source_free.nightly_args(con, manifest)
            if not args:
                return None
            context.log.info(
                "source-free nodes left out: the warehouse holds them as the project defines "
                f"them ({len(source_free.source_free_nodes(manifest))} nodes)"
            )
            return LeftOut(args, keys, str(source_free.recorded_at(con)))
        if set(keys) & context.selected_asset_keys:
            source_free.forget(con)
    return None


def record_source_free(target: Path, manifest: dict[str, Any], warehouse: Path) -> bool:
    """Record the source-free nodes as built when this invocation built and passed them all.
    The digest is taken from the parsed manifest, as before the build: the one a build
    writes lists, for each test, the macros compiling it called as well."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    with connect(warehouse) as con:
        return source_free.record(con, manifest, results)


@dg.asset(
    key=["serving", "dbt_docs"],
    deps=sorted(warehouse_dbt.keys, key=lambda k: k.path),
    group_name="serving",
    kinds={"dbt", "html"},
    pool=WAREHOUSE_POOL,
    automation_condition=on_arrival(),
    description=(
        "The dbt docs of the warehouse (models, columns, tests, lineage, the catalog of the "
        "built tables), published to <warehouse stem>_docs/ beside it; `make docs` serves them."
    ),
)
def dbt_docs(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """``dbt docs generate`` against the DuckDB warehouse, in the pool (its catalog opens the
    file), then copied out so that serving the docs never opens the warehouse. On Spark the
    DuckDB target still documents what analysts read: the raw layer and the landed marts.

    ``--no-compile`` saves two thirds of its time; the site then shows each model's source
    SQL, not the compiled text, from the parsed manifest the code location loaded. When
    neither the project nor the warehouse's relations and columns changed since the site was
    published, it is left as it is (dbt's ~10 s are saved on a daily load)."""
    path = Path(warehouse.path).resolve()
    with connect(path, read_only=True) as con:
        inputs = site_inputs(con, Path(dbt_project.manifest_path))
    if is_current(docs_dir(path), inputs):
        context.log.info("dbt docs are current: neither the project nor the schema changed")
        index = docs_dir(path) / "index.html"
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(str(index)), "regenerated": False}
        )
    os.environ[ENV_WAREHOUSE_PATH] = str(path)
    targets = Path(dbt_project.project_dir) / "target"
    targets.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dbt_docs-", dir=targets) as tmp:
        dbt.cli(
            ["docs", "generate", "--no-compile", "--target", DUCKDB_TARGET],
            manifest=dbt_project.manifest_path,
            target_path=invocation_target(Path(tmp), path),
        ).wait()
        keep_parse_state(Path(tmp), path)
        shutil.copyfile(dbt_project.manifest_path, Path(tmp) / "manifest.json")
        index = publish_docs(Path(tmp), docs_dir(path), inputs)
    context.log.info(f"dbt docs published to {index.parent}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(index)), "regenerated": True}
    )


def register_raw_in_spark(warehouse: WarehouseResource) -> dict[str, int]:
    """``python -m ingestion spark-raw`` in a child process: its JVM, and with it the lock on
    the embedded Derby metastore, ends before dbt's Spark session starts."""
    env = {**os.environ, ENV_WAREHOUSE_PATH: str(Path(warehouse.path).resolve())}
    env[ENV_SPARK_DIR] = str(warehouse.spark_path())
    if warehouse.raw_dir:
        env[ENV_RAW_DIR] = str(Path(warehouse.raw_dir).resolve())
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "spark-raw"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"registering the raw layer in Spark failed:\n{done.stderr[-5000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["rows"]


def prune_targets(root: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest run target directories (or files) matching
    ``pattern``."""
    runs = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[max(keep, 1) :]:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    return runs[max(keep, 1) :]
