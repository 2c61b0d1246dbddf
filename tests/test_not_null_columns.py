"""The ``not_null_columns`` data test (dbt_project/macros/not_null_columns.sql), the not_null
check of every required column of a model in one dbt node: it fails with one row per column
holding nulls, with how many rows hold one, and passes once none does."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from pipeline import pipeline_env, run_dbt

# kpi_values' required columns: kpi_code, period_grain, period_start, district_code.
ROWS = """
    ('members_active_end', 'year', date '2024-01-01', 'ALL', 1.0),
    ('new_members', 'year', null, null, 2.0),
    ('new_members', 'month', date '2024-01-01', null, null)
"""


def _test(env: dict[str, str], target: Path) -> tuple[dict, list[tuple[str, int]]]:
    """``dbt test`` of kpi_values' not_null_columns test: its result, and the rows its
    compiled query returns on the warehouse."""
    done = run_dbt(env, target, "test", "--target", "duckdb", "--select", "not_null_kpi_values")
    assert "not_null_kpi_values" in done.stdout, done.stdout[-4000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    (result,) = [r for r in results if r["unique_id"].startswith("test.")]  # not the hooks
    (compiled,) = (target / "compiled").rglob("not_null_kpi_values.sql")
    with duckdb.connect(env["UNIONWH_WAREHOUSE_PATH"], read_only=True) as con:
        rows = con.execute(compiled.read_text()).fetchall()
    return result, rows


def test_each_required_column_holding_nulls_is_a_failing_row(tmp_path: Path) -> None:
    env = pipeline_env(tmp_path / "sources", tmp_path)
    warehouse = Path(env["UNIONWH_WAREHOUSE_PATH"])
    warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.kpi_values as select * from (values "
            f"{ROWS}) as t(kpi_code, period_grain, period_start, district_code, value)"
        )

    result, rows = _test(env, tmp_path / "dbt")
    assert (result["status"], result["failures"]) == ("fail", 2)
    assert sorted(rows) == [("district_code", 2), ("period_start", 1)]

    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.kpi_values set period_start = date '2024-01-01'")
        con.execute("update marts.kpi_values set district_code = '110101'")
    result, rows = _test(env, tmp_path / "dbt")  # parses only what changed: nothing
    assert (result["status"], result["failures"], rows) == ("pass", 0, [])
