"""Declarative automation: a load that arrives between nightly runs refreshes exactly what is
built from it, and a run that updated everything requests nothing more.

Dagster's own evaluator (``dg.evaluate_automation_conditions``) on an in-memory instance,
whose history is written as runless events: what the daemon's ``refresh_on_arrival`` sensor
would request on each tick. The sensor launching and completing that run under ``dagster dev``
is tests/test_dagster_ui_runs.py's."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import dagster as dg
import pytest

from orchestration.definitions import defs

Key = dg.AssetKey | dg.AssetCheckKey


class Tick:
    """The instance and the evaluator's cursor between ticks."""

    def __init__(self) -> None:
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor: Any = None

    def land(self, assets: Iterable[dg.AssetKey], checks: Iterable[dg.AssetCheckKey]) -> None:
        for key in sorted(assets, key=lambda k: k.path):
            self.instance.report_runless_asset_event(dg.AssetMaterialization(key))
        for check in sorted(checks, key=str):
            self.instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=check.asset_key, check_name=check.name, passed=True
                )
            )

    def requested(self) -> set[Key]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)  # the evaluator's own selection
            result = dg.evaluate_automation_conditions(
                defs=defs, instance=self.instance, cursor=self.cursor
            )
        self.cursor = result.cursor
        return {r.key for r in result.results if r.true_subset.size}


@pytest.fixture(scope="module")
def graph() -> Any:
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def after_full_run(graph: Any) -> Iterator[Tick]:
    """An instance after a full pipeline run: every asset materialized, every check run."""
    tick = Tick()
    assert tick.requested() == set(), "nothing is requested before anything was loaded"
    tick.land(graph.get_all_asset_keys(), graph.asset_check_keys)
    yield tick


def checks_of(graph: Any, assets: set[dg.AssetKey]) -> set[dg.AssetCheckKey]:
    return {check for check in graph.asset_check_keys if check.asset_key in assets}


def test_a_run_that_updated_everything_requests_nothing(after_full_run: Tick) -> None:
    assert after_full_run.requested() == set()


def test_a_landed_load_refreshes_exactly_what_is_built_from_it(
    graph: Any, after_full_run: Tick
) -> None:
    services = {k for k in graph.get_all_asset_keys() if k.path[:2] == ["raw", "services"]}
    assert len(services) == 6  # five entities and the history of deliveries
    after_full_run.land(services, checks_of(graph, services))  # the landing sensor's run

    requested = after_full_run.requested()
    downstream = dg.AssetSelection.assets(*services).downstream(include_self=False)
    built_from = downstream.resolve(graph)
    their_checks = checks_of(graph, built_from)
    assert {k for k in requested if isinstance(k, dg.AssetKey)} == built_from
    assert {k for k in requested if isinstance(k, dg.AssetCheckKey)} == their_checks
    # The figures analysts read are among them; what no service record feeds is not.
    for key in ("marts/fct_service_deliveries", "marts/kpi_values", "serving/warehouse"):
        assert dg.AssetKey.from_user_string(key) in requested
    for key in ("marts/fct_dispute_cases", "marts/dim_district", "raw/membership/members"):
        assert dg.AssetKey.from_user_string(key) not in requested
    # The models built from loads read the tombstones of every source, which the services
    # system's deletions staging holds: the dispute facts are among the 34 (they find no
    # dispute load to process and replace no key).
    assert (len(built_from), len(their_checks)) == (34, 157)

    # Once that run has updated them, the next tick requests nothing.
    after_full_run.land(built_from, their_checks)
    assert after_full_run.requested() == set()


def test_dbt_tests_keep_dagster_dbts_check_specs_but_for_the_condition() -> None:
    """The translator only adds the condition to what dagster-dbt builds for a dbt test."""
    from dagster_dbt import DagsterDbtTranslator

    from orchestration.defs.dbt.assets import warehouse_dbt
    from orchestration.defs.dbt.project import dbt_project
    from orchestration.defs.dbt.translator import translator

    manifest = json.loads(dbt_project.manifest_path.read_text())
    default = DagsterDbtTranslator(settings=translator.settings)
    checks = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "test":
            continue
        parent = translator.get_asset_spec(manifest, node["attached_node"] or uid, dbt_project)
        ours = translator.get_asset_check_spec(parent, manifest, uid, dbt_project)
        theirs = default.get_asset_check_spec(parent, manifest, uid, dbt_project)
        assert (ours is None) == (theirs is None), uid
        if ours is not None:
            assert ours.automation_condition is not None
            assert ours._replace(automation_condition=None) == theirs
            checks.append(ours.key)
    assert sorted(checks, key=str) == sorted((s.key for s in warehouse_dbt.check_specs), key=str)
