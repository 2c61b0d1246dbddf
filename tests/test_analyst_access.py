"""The README's analyst queries run in the DuckDB CLI against the published serving file, and
a real BI client path (SQLAlchemy + duckdb-engine) reads it, read-only."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

README = Path(__file__).resolve().parents[1] / "README.md"
DUCKDB_CLI = Path(sys.executable).with_name("duckdb")


def readme_queries() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Analysts and BI", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def serving(pipeline_run: dict) -> Path:
    return pipeline_run["out"] / "serving.duckdb"


def cli(serving: Path, sql: str) -> list[list[str]]:
    done = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", str(serving), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return list(csv.reader(io.StringIO(done.stdout)))


def test_readme_has_five_queries_and_each_runs_in_the_cli(serving: Path) -> None:
    queries = readme_queries()
    assert len(queries) == 5
    lines = [cli(serving, sql) for sql in queries]
    assert all(len(out) > 1 for out in lines)  # a header and at least one row each
    report = lines[0]
    assert len(report) == 1 + 19
    assert report[0] == ["name_zh", "value_zh"]
    assert report[1][0] == "新增单独基层工会"
    assert "会员总数（期末）" in {row[0] for row in report}


def test_report_view_matches_the_simulator_truth(serving: Path, demo_sources: Path) -> None:
    truth = json.loads((demo_sources / "expected_kpis.json").read_text(encoding="utf-8"))
    expected = {
        r["kpi_code"]: r["value"]
        for r in truth["rows"]
        if r["period_start"] == "2024-01-01"
        and r["district_code"] == "ALL"
        and r["period_grain"] == "year"
    }
    rows = cli(
        serving,
        "select kpi_code, value from marts.kpi_report_year where report_year = 2024 "
        "order by report_order",
    )[1:]
    found = {code: float(value) for code, value in rows}
    assert found.keys() == expected.keys()
    assert all(found[k] == pytest.approx(expected[k], rel=1e-9) for k in expected)


def test_sqlalchemy_bi_client_reads_the_serving_file(serving: Path) -> None:
    engine = sqlalchemy.create_engine(f"duckdb:///{serving}", connect_args={"read_only": True})
    inspector = sqlalchemy.inspect(engine)
    tables = set(inspector.get_table_names(schema="marts"))
    assert {"kpi_values", "kpi_report_year", "fct_dispute_cases", "dim_district"} <= tables
    columns = {c["name"] for c in inspector.get_columns("kpi_values", schema="marts")}
    assert columns == {"kpi_code", "period_grain", "period_start", "district_code", "value"}
    report = pd.read_sql(sqlalchemy.text(readme_queries()[0]), engine)
    assert list(report.columns) == ["name_zh", "value_zh"] and len(report) == 19
    monthly = pd.read_sql(sqlalchemy.text(readme_queries()[1]), engine)
    assert len(monthly) == 16 * 12
    with engine.connect() as con, pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
        con.execute(sqlalchemy.text("create table marts.scratch as select 1 as x"))
    engine.dispose()
    # The URL form a BI tool's connection dialog takes.
    by_url = sqlalchemy.create_engine(f"duckdb:///{serving}?access_mode=read_only")
    with by_url.connect() as con:
        count = con.execute(sqlalchemy.text("select count(*) from marts.kpi_definitions"))
        assert count.scalar() == 19
    by_url.dispose()
