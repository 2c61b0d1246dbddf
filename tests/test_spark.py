"""The same warehouse on Apache Spark: the whole pipeline run through Dagster with
``UNIONWH_ENGINE=spark`` on the demo sources (SF 0.01), next to the DuckDB run of the same
sources (``pipeline_run``).

The raw layer is registered in a local Spark catalog (the same Parquet files), dbt builds every
seed, model, data test and unit test on Spark (dbt-spark, ``session`` method), and the marts are
landed from Spark's Parquet into the warehouse, published and checked as after a DuckDB build.
Asserted: every ``marts.kpi_values`` row equals DuckDB's (exact float equality), every mart has
DuckDB's columns, row count and rows, and what was landed is what Spark wrote.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import data_tests_of_the_project, dbt_results, materialize, unit_tests_of_the_project
from warehouse_fingerprint import VOLATILE

from ingestion.spark_catalog import mart_files

pytestmark = [
    pytest.mark.spark,
    pytest.mark.long,
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="Spark needs a Java runtime (java 17+) on PATH; none found",
    ),
]

# Derived from the build date (age as of current_date): equal unless the two builds straddle
# midnight, so left out of the row-by-row comparison (as in the PostgreSQL peer's test); and
# the load stamps (source_load_id...), which differ between the two runs' loads.
BUILD_DATE_COLUMNS = {("dim_member", "age_band")}
KPI_QUERY = (
    "select kpi_code, period_grain, period_start, district_code, value from marts.kpi_values"
)


@pytest.fixture(scope="module")
def spark_run(demo_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("spark")
    # dbt's unit tests too, which a production build leaves out: do they pass on Spark?
    unit_tests = {"ops": {"warehouse_dbt": {"config": {"unit_tests": True}}}}
    # Alone on the 2-core machine this run takes ~10 minutes; beside the suite's other workers
    # in a slow hour it passed the usual 15 (CI, 2026-12-05). The limit only catches a hang.
    done = materialize(demo_sources, base, unit_tests, timeout=3600, UNIONWH_ENGINE="spark")
    out = base / "out"
    return {
        "base": base,
        "warehouse": out / "warehouse.duckdb",
        "serving": out / "serving.duckdb",
        "spark_dir": out / "warehouse_spark",
        "log": done.stdout + done.stderr,
    }


def _rows(path: Path | None, query: str) -> list[tuple[Any, ...]]:
    """The rows of ``query`` on the DuckDB file ``path`` (None: an in-memory database)."""
    with duckdb.connect(str(path) if path else ":memory:", read_only=path is not None) as con:
        rows = con.execute(query).fetchall()
    return sorted(rows, key=lambda row: tuple((v is not None, v) for v in row))


def test_kpi_values_equal_duckdb_row_for_row(spark_run: dict, pipeline_run: dict) -> None:
    duck = _rows(pipeline_run["out"] / "warehouse.duckdb", KPI_QUERY)
    landed = _rows(spark_run["warehouse"], KPI_QUERY)
    assert len(duck) > 100_000
    assert landed == duck
    assert {type(row[4]) for row in landed if row[4] is not None} == {float}
    # What was landed and published is what Spark wrote, not a leftover DuckDB build.
    files = mart_files(spark_run["spark_dir"], "kpi_values")
    written = _rows(None, KPI_QUERY.replace("marts.kpi_values", f"'{files}'"))
    assert written == duck
    assert _rows(spark_run["serving"], KPI_QUERY) == duck


def test_every_mart_has_duckdbs_columns_rows_and_row_count(
    spark_run: dict, pipeline_run: dict
) -> None:
    tables_query = (
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' order by table_name"
    )
    with (
        duckdb.connect(str(pipeline_run["out"] / "warehouse.duckdb"), read_only=True) as duck,
        duckdb.connect(str(spark_run["warehouse"]), read_only=True) as spark,
    ):
        marts = [row[0] for row in duck.execute(tables_query).fetchall()]
        assert [row[0] for row in spark.execute(tables_query).fetchall()] == marts
        assert len(marts) >= 25
        for table in marts:
            columns = [row[0] for row in duck.execute(f"describe marts.{table}").fetchall()]
            assert [row[0] for row in spark.execute(f"describe marts.{table}").fetchall()] == (
                columns
            ), table
            compared = ", ".join(
                c for c in columns if (table, c) not in BUILD_DATE_COLUMNS and c not in VOLATILE
            )
            duck_rows = Counter(duck.execute(f"select {compared} from marts.{table}").fetchall())
            spark_rows = Counter(spark.execute(f"select {compared} from marts.{table}").fetchall())
            assert sum(spark_rows.values()) == sum(duck_rows.values()), table
            assert spark_rows == duck_rows, (
                table,
                list((duck_rows - spark_rows).items())[:3],
                list((spark_rows - duck_rows).items())[:3],
            )


def test_dbt_built_every_seed_model_data_test_and_unit_test_on_spark(spark_run: dict) -> None:
    log = spark_run["log"]
    summary = re.findall(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", log)
    assert len(summary) == 1, summary
    passed, warned, errors, skipped = map(int, summary[0])
    assert (warned, errors, skipped) == (0, 0, 0)
    assert passed >= 370  # 6 seeds, ~60 models, ~310 data and unit tests
    results = dbt_results(spark_run["base"])
    data_tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(data_tests) == len(data_tests_of_the_project())
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert {r["unique_id"] for r in unit_tests} == unit_tests_of_the_project()
    assert {r["status"] for r in unit_tests} == {"pass"}
    assert "raw layer registered in the Spark catalog" in log
    assert "marts landed from Spark into the warehouse" in log


def test_raw_registered_in_spark_is_the_committed_history(spark_run: dict) -> None:
    registered = re.search(
        r"raw layer registered in the Spark catalog at \S+: (\{.*?\})", spark_run["log"]
    )
    assert registered is not None
    rows = json.loads(registered[1].replace("'", '"'))
    with duckdb.connect(str(spark_run["warehouse"]), read_only=True) as con:
        entities = [
            r[0]
            for r in con.execute(
                "select distinct entity from meta.loads where data_file is not null order by 1"
            ).fetchall()
        ]
        expected = {
            e: con.execute(f'select count(*) from raw."{e}"').fetchall()[0][0] for e in entities
        }
        expected["deletions"] = con.execute("select count(*) from raw.deletions").fetchall()[0][0]
    assert rows == expected
    assert len(entities) == 10
