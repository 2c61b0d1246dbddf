"""The second crash chain (see ``test_crash_recovery.py``): runs killed one after another
while dbt's data tests run, in the marts' checks and, publishing alone as re-executing the
failed step does, at each step of publication, then a clean whole re-run that must equal the
uninterrupted baseline. A module of its own, so that a
parallel worker runs it beside the early chain."""

from __future__ import annotations

import pytest
from crash_world import (
    LATE_CRASHES,
    Chain,
    Outcome,
    World,
    assert_chain_equals_baseline,
    assert_no_personal_data_or_secret,
    baseline,
    crash_sources,
    run_chain,
    world,
)

__all__ = ["baseline", "crash_sources", "world"]  # fixtures


@pytest.fixture(scope="module")
def chain(world: World, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return run_chain(world, tmp_path_factory.mktemp("late-chain"), LATE_CRASHES)


def test_killed_at_every_late_point_then_rerun_equals_an_uninterrupted_run(
    chain: Chain, baseline: Outcome
) -> None:
    assert_chain_equals_baseline(chain, baseline)


def test_no_personal_data_or_secret_in_anything_the_late_runs_wrote(
    chain: Chain, world: World
) -> None:
    assert_no_personal_data_or_secret(chain, world)
