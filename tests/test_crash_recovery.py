"""kill -9 of the pipeline run at named points, then re-runs.

Every run here is the contract's ``dagster asset materialize --select '*'``, with disputes
read from the dispute API on loopback. ``UNIONWH_CRASH_AT`` (``core/crash_points.py``)
makes the run SIGKILL its own process group at one point: the Dagster process and the dbt
process it started die at once, like a power cut. After the crash the serving file must be
absent or a complete version; after a clean re-run the warehouse and serving file must equal,
relation by relation (``warehouse_fingerprint``), those of a run that was never interrupted:
no record lost, none doubled.

The default tests kill one run after another, each re-run being the next crash's victim,
then re-run cleanly: two chains, as cheap as one run per point. This module's chain dies in
ingestion, the raw checks and early in dbt; ``test_crash_chain_late.py``'s in dbt's tests,
the marts' checks and publication. The exhaustive variant (``pytest -m exhaustive``) starts
each point from an empty warehouse. The world, the baseline and the chains' checks are in
``crash_world.py``; the re-runs of the baseline in ``test_crash_reruns.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from crash_world import (
    EARLY_CRASHES,
    KILLED,
    LATE_CRASHES,
    Chain,
    Outcome,
    World,
    assert_chain_equals_baseline,
    assert_no_personal_data_or_secret,
    assert_nothing_left_behind,
    assert_serving_is_a_complete_version,
    baseline,
    crash_sources,
    outcome,
    run_chain,
    succeeded,
    world,
)
from pipeline import ROOT
from warehouse_fingerprint import fingerprint

from core.crash_points import ENV_CRASH_AT, POINTS

__all__ = ["baseline", "crash_sources", "world"]  # fixtures


def test_every_crash_point_is_in_a_chain() -> None:
    # The chains read disputes from the API; the export's point has its own test below.
    crashes = EARLY_CRASHES + LATE_CRASHES
    assert {c.partition("@")[0] for c in crashes} == set(POINTS) - {"disputes.export_file"}
    assert len(crashes) >= 12


def _load_disputes_export(world: World, base: Path, crash: str | None = None) -> int:
    env = world.env(base, UNIONWH_DISPUTES_API_URL="", **({ENV_CRASH_AT: crash} if crash else {}))
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "load", "--source", "disputes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, start_new_session=True,
    )  # fmt: skip
    assert done.returncode in (0, KILLED), done.stderr[-3000:]
    return done.returncode


def test_export_load_killed_between_files_then_rerun_loads_each_record_once(
    world: World, tmp_path: Path
) -> None:
    """The dispute export (no Dagster): killed after 40 of its files were read."""
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    assert _load_disputes_export(world, whole) == 0
    assert _load_disputes_export(world, crashed, "disputes.export_file@40") == KILLED
    assert not (crashed / "out" / "warehouse_raw" / "disputes" / "_loads").exists()
    assert _load_disputes_export(world, crashed) == 0
    assert fingerprint(crashed / "out" / "warehouse.duckdb") == fingerprint(
        whole / "out" / "warehouse.duckdb"
    )


@pytest.fixture(scope="module")
def chain(world: World, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return run_chain(world, tmp_path_factory.mktemp("early-chain"), EARLY_CRASHES)


def test_killed_at_every_early_point_then_rerun_equals_an_uninterrupted_run(
    chain: Chain, baseline: Outcome
) -> None:
    assert_chain_equals_baseline(chain, baseline)


def test_no_personal_data_or_secret_in_anything_the_early_runs_wrote(
    chain: Chain, world: World
) -> None:
    assert_no_personal_data_or_secret(chain, world)


@pytest.mark.exhaustive
@pytest.mark.parametrize("crash", EARLY_CRASHES + LATE_CRASHES)
def test_killed_once_then_rerun_equals_an_uninterrupted_run(
    world: World, baseline: Outcome, tmp_path: Path, crash: str
) -> None:
    done = world.run(tmp_path, crash)
    assert done.returncode == KILLED, f"{crash} was never reached: {done.stderr[-3000:]}"
    assert_serving_is_a_complete_version(tmp_path)
    done = world.run(tmp_path)
    assert succeeded(done), done.stderr[-4000:]
    assert outcome(tmp_path).warehouse == baseline.warehouse
    assert outcome(tmp_path).serving == baseline.serving
    assert_nothing_left_behind(tmp_path)
