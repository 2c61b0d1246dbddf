"""The benchmark harness in quick mode (SF 0.002), so it cannot rot: every stage of the
pipeline, the DuckDB-alone limit and the PostgreSQL peer run and are measured, and the limit
provably did the same work (its KPIs equal the pipeline's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import RUNS, STAGE_LABELS
from tests.conftest import postgres_reachable

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    subprocess.run(
        [sys.executable, "-m", "bench", "run", "--quick", "--out", str(out),
         "--peer-database", "unionwh_bench_quick_test"],
        cwd=ROOT, check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    return json.loads((out / "run-quick.json").read_text()), (out / "run-quick.md").read_text()


def test_every_stage_is_measured_in_every_run(quick: tuple[dict, str]) -> None:
    result, _ = quick
    (row,) = result["rows"]
    assert row["scale"] == 0.002
    for run in RUNS:
        assert set(row[run]) == set(STAGE_LABELS), run
        for stage, figures in row[run].items():
            assert figures["wall_s"] > 0 and figures["cpu_s"] > 0, (run, stage)
            assert 0.05 < figures["peak_rss_gib"] < 4, (run, stage)
    assert row["generate"]["wall_s"] > 0 and row["advance"]["wall_s"] > 0
    # dbt's own record of engine time per kind of node, for the engine-only comparison.
    nodes = row["full"]["dbt"]["node_seconds"]
    # "operation": the on-run-start hook that creates meta.model_loads; no unit tests, which
    # the pipeline's build leaves out.
    assert set(nodes) == {"seed", "model", "test", "operation", "all"}
    assert 0 < nodes["all"] < 2 * row["full"]["dbt"]["wall_s"]
    assert row["totals"]["full"]["wall_s"] == pytest.approx(
        sum(s["wall_s"] for s in row["full"].values()), abs=0.05
    )


def test_the_limit_did_the_same_work(quick: tuple[dict, str]) -> None:
    result, _ = quick
    (row,) = result["rows"]
    (dbt,) = row["limit"]["dbt"]["summary"]
    # Every seed, model and data test of the project ran, and no data test failed.
    assert (dbt["seeds"], dbt["views"] + dbt["tables"]) == (6, 64)
    assert dbt["tests"] == 297 and dbt["failing_tests"] == []
    # The limit loaded what the pipeline loaded: same quarantined rows by entity.
    (membership,) = row["limit"]["ingest_membership"]["summary"]
    assert {e: v["rejected"] for e, v in membership["entities"].items()} == {
        "union_org": 4, "member": 4, "membership_event": 3, "honor": 2,
    }  # fmt: skip
    kpis = row["limit_kpis"]
    assert kpis["pipeline_rows"] > 100_000
    assert kpis["equal_rows"] / kpis["pipeline_rows"] > 0.999


@pytest.mark.postgres
def test_the_postgres_peer_built_the_same_project(quick: tuple[dict, str]) -> None:
    assert postgres_reachable()
    result, _ = quick
    (row,) = result["rows"]
    assert row["peer"]["dbt"]["wall_s"] > 0 and row["peer"]["load_raw"]["wall_s"] > 0
    assert row["targets"]["postgres_vs_duckdb"] > 0
    assert row["peer"]["dbt"]["node_seconds"]["test"] > 0


def test_the_markdown_table_reports_ratios_and_targets(quick: tuple[dict, str]) -> None:
    result, text = quick
    assert "| stage | full s | CPU s | peak RSS GiB | limit s | full / limit" in text
    for label in STAGE_LABELS.values():
        assert f"| {label} |" in text
    assert "Targets: full refresh / limit" in text
    assert result["machine"]["cores"] >= 1 and result["machine"]["versions"]["duckdb"]
