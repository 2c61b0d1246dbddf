"""Landing Spark's marts in the warehouse, without Spark: which marts a dbt invocation built
(``built_marts``) and the copy of their Parquet files (``land_marts``)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from ingestion.spark_catalog import mart_files
from orchestration.defs.dbt.spark_marts import built_marts, land_marts


def _target(tmp_path: Path, nodes: dict[str, tuple[str, str, str]]) -> Path:
    """A dbt target dir: node id -> (schema, materialized, status)."""
    target = tmp_path / "target"
    target.mkdir()
    manifest = {
        "nodes": {
            uid: {
                "resource_type": uid.split(".")[0],
                "schema": schema,
                "alias": uid.split(".")[-1],
                "config": {"materialized": materialized},
            }
            for uid, (schema, materialized, _) in nodes.items()
        }
    }
    results = {"results": [{"unique_id": uid, "status": s} for uid, (_, _, s) in nodes.items()]}
    (target / "manifest.json").write_text(json.dumps(manifest))
    (target / "run_results.json").write_text(json.dumps(results))
    return target


def test_built_marts_are_the_mart_tables_built(tmp_path: Path) -> None:
    target = _target(
        tmp_path,
        {
            "model.p.kpi_values": ("marts", "table", "success"),
            "model.p.fct_service_deliveries": ("marts", "incremental", "success"),
            "model.p.dim_union": ("marts", "table", "error"),
            "model.p.stg_x": ("staging", "view", "success"),
            "test.p.not_null_x": ("marts", "test", "pass"),
        },
    )
    assert built_marts(target) == ["fct_service_deliveries", "kpi_values"]


def test_a_mart_view_on_spark_is_refused(tmp_path: Path) -> None:
    target = _target(tmp_path, {"model.p.kpi_report_year": ("marts", "view", "success")})
    with pytest.raises(RuntimeError, match="kpi_report_year is a view"):
        built_marts(target)


def test_land_marts_replaces_the_warehouse_tables_with_sparks(tmp_path: Path) -> None:
    spark_dir = tmp_path / "spark"
    table_dir = Path(mart_files(spark_dir, "kpi_values")).parent
    table_dir.mkdir(parents=True)
    with duckdb.connect() as con:
        for part, values in enumerate(([1.5, 2.5], [4.0])):
            con.execute(
                f"copy (select unnest(?) as value, 'x' as kpi_code) "
                f"to '{table_dir / f'part-{part:05d}.snappy.parquet'}' (format parquet)",
                [values],
            )
    (table_dir / "_SUCCESS").write_text("")
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.kpi_values as select 9.0 as value, 'old' as kpi_code")
        con.execute("create table marts.untouched as select 1 as a")

    assert land_marts(warehouse, spark_dir, ["kpi_values"]) == {"kpi_values": 3}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select value, kpi_code from marts.kpi_values order by 1").fetchall()
        assert rows == [(1.5, "x"), (2.5, "x"), (4.0, "x")]
        assert con.execute("select a from marts.untouched").fetchall() == [(1,)]


def test_land_marts_is_all_or_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.kpi_values as select 9.0 as value")
    spark_dir = tmp_path / "spark"
    good = Path(mart_files(spark_dir, "kpi_values")).parent
    good.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(f"copy (select 1.0 as value) to '{good / 'part-0.parquet'}' (format parquet)")
    with pytest.raises(duckdb.IOException):
        land_marts(warehouse, spark_dir, ["kpi_values", "missing_mart"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select value from marts.kpi_values").fetchall() == [(9.0,)]
