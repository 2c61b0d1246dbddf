"""dbt's unit tests (fixed input rows, expected output rows) run here, once per suite, and not
in the pipeline: a production build leaves them out (``DbtBuildConfig.unit_tests`` in
orchestration/defs/dbt/assets.py), as dbt recommends, since their inputs never change with
the day's data. On Spark they run inside the Spark build (``tests/test_spark.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline import dbt_manifest, dbt_results, pipeline_env, run_dbt, unit_tests_of_the_project


def test_every_unit_test_passes_on_duckdb(
    pipeline_run: dict, demo_sources: Path, tmp_path: Path
) -> None:
    """On a copy of the demo warehouse: unit tests read only fixtures, but dbt takes the
    column types of their inputs from the built relations."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run["out"] / "warehouse.duckdb", warehouse)
    env = pipeline_env(demo_sources, tmp_path, UNIONWH_WAREHOUSE_PATH=str(warehouse))
    target = tmp_path / "target"
    done = run_dbt(env, target, "test", "--select", "test_type:unit")
    assert done.returncode == 0, done.stdout[-6000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert {r["unique_id"] for r in unit_tests} == unit_tests_of_the_project()
    assert len(unit_tests) == 14
    assert {r["status"] for r in unit_tests} == {"pass"}
    # besides them, only the on-run-start hook (meta.model_loads)
    assert {r["unique_id"].split(".")[0] for r in results} == {"unit_test", "operation"}


def test_the_pipelines_build_ran_every_data_test_and_no_unit_test(pipeline_run: dict) -> None:
    results = dbt_results(pipeline_run["base"])
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert kinds == {"seed", "model", "test", "operation"}
    nodes = dbt_manifest()["nodes"]
    data_tests = {k for k, n in nodes.items() if n["resource_type"] == "test"}
    assert {r["unique_id"] for r in results if r["unique_id"].startswith("test.")} == data_tests
