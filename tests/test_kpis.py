"""The work-report KPIs: the whole pipeline (sources → ingestion → dbt) reproduces the
simulator's independently computed truth, and an incremental run after a new day equals a
rebuild from scratch.

The demo's incremental day is a long variant (marker ``long``, in CI): the default tier runs
the same capability on the shaped worlds, each loaded, advanced a day and loaded again with
every KPI equal to the truth after each load (``test_shapes.py``), and the incremental
warehouse after five days equal to a full refresh (``test_incremental_equivalence.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import materialize

from simulator.generate import advance

Key = tuple[str, str, str, str]


def kpi_values(warehouse: Path, grain: str | None = None) -> dict[Key, float | None]:
    where = f"where period_grain = '{grain}'" if grain else ""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select kpi_code, period_grain, cast(period_start as varchar), district_code, value "
            f"from marts.kpi_values {where}"
        ).fetchall()
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows}


def expected(sources: Path) -> dict[Key, Any]:
    truth = json.loads((sources / "expected_kpis.json").read_text(encoding="utf-8"))
    return {
        (r["kpi_code"], r["period_grain"], r["period_start"], r["district_code"]): r["value"]
        for r in truth["rows"]
    }


def assert_matches_truth(got: dict[Key, float | None], want: dict[Key, Any]) -> None:
    mismatches = []
    for key, value in want.items():
        actual = got.get(key, "missing")
        if key[0] == "disputes_recovered_yuan":
            ok = actual != "missing" and round(actual, 2) == round(value, 2)
        elif key[0] == "hotline_closure_rate":
            ok = actual == value or (
                actual not in (None, "missing")
                and value is not None
                and abs(actual - value) < 1e-12
            )
        else:
            ok = actual == value
        if not ok:
            mismatches.append((key, value, actual))
    assert mismatches == [], mismatches[:20]


def test_every_year_kpi_equals_the_simulators_truth(pipeline_run: dict, demo_sources: Path) -> None:
    want = expected(demo_sources)
    assert len(want) == 1215
    got = kpi_values(pipeline_run["out"] / "warehouse.duckdb", "year")
    assert_matches_truth(got, want)


def test_kpi_table_is_complete_for_every_period_and_district(pipeline_run: dict) -> None:
    with duckdb.connect(str(pipeline_run["out"] / "warehouse.duckdb"), read_only=True) as con:
        per_grain = dict(
            con.execute(
                "select period_grain, count(*) / count(distinct period_start) "
                "from marts.kpi_values group by all"
            ).fetchall()
        )
        definitions = con.execute("select count(*) from marts.kpi_definitions").fetchone()
    # 14 KPIs by 'ALL' and 16 districts, 5 city-only KPIs: 243 rows per period, every grain.
    assert per_grain == {"year": 243, "quarter": 243, "month": 243}
    assert definitions == (19,)


@pytest.fixture(scope="module")
def advanced_runs(
    demo_sources: Path, pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """The demo's warehouse loaded again after one more day. Day one is the session's run over
    the same sources, copied: the landing files are known by their path in the landing
    directory, so the copied sources are the ones it loaded."""
    import shutil

    base = tmp_path_factory.mktemp("advanced")
    sources = base / "sources"
    shutil.copytree(demo_sources, sources)
    shutil.copytree(pipeline_run["out"], base / "incremental" / "out")
    advance(sources, 1, quiet=True)
    materialize(sources, base / "incremental")
    return {"sources": sources, "base": base}


@pytest.mark.long
def test_incremental_run_after_a_day_equals_a_rebuild_from_scratch(advanced_runs: dict) -> None:
    """Beside it, a warehouse built from scratch on the day-two sources."""
    base = advanced_runs["base"]
    materialize(advanced_runs["sources"], base / "scratch")
    incremental = kpi_values(base / "incremental" / "out" / "warehouse.duckdb")
    scratch = kpi_values(base / "scratch" / "out" / "warehouse.duckdb")
    assert incremental.keys() == scratch.keys()
    differ = {k: (incremental[k], scratch[k]) for k in scratch if incremental[k] != scratch[k]}
    assert differ == {}
    assert ("new_members", "month", "2025-01-01", "ALL") in scratch


@pytest.mark.long
def test_incremental_run_after_a_day_matches_the_new_truth(advanced_runs: dict) -> None:
    base = advanced_runs["base"]
    got = kpi_values(base / "incremental" / "out" / "warehouse.duckdb", "year")
    assert_matches_truth(got, expected(advanced_runs["sources"]))
