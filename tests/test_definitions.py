"""The Dagster code location loads, and its asset graph changes only on purpose."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

import orchestration.definitions as definitions_module
from orchestration.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_keys.txt"
SNAPSHOT_HEADER = (
    "# Asset keys of orchestration.definitions, one per line, sorted.\n"
    "# Regenerate: UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_definitions.py\n"
)


def _current_asset_keys() -> list[str]:
    return sorted(key.to_user_string() for key in defs.resolve_all_asset_keys())


def _read_snapshot() -> list[str]:
    lines = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_definitions_are_loadable() -> None:
    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)
    # Building every job resolves the asset graph and resource requirements.
    defs.resolve_all_job_defs()


def test_module_holds_exactly_one_definitions() -> None:
    # `dagster dev -m` / `dagster asset materialize -m` reject a module with several
    # Definitions objects at module scope, although importing it works.
    found = [
        name
        for name, value in vars(definitions_module).items()
        if isinstance(value, dg.Definitions)
    ]
    assert found == ["defs"]


def test_every_area_is_merged() -> None:
    assert "dbt" in (defs.resources or {})


def test_asset_keys_match_snapshot() -> None:
    current = _current_asset_keys()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(SNAPSHOT_HEADER + "".join(f"{k}\n" for k in current), "utf-8")
    if not SNAPSHOT.exists():
        pytest.fail(f"{SNAPSHOT} is missing; create it with UPDATE_SNAPSHOTS=1")
    expected = _read_snapshot()
    added = sorted(set(current) - set(expected))
    removed = sorted(set(expected) - set(current))
    assert current == expected, (
        f"asset keys changed (added={added}, removed={removed}); "
        "if intended, rerun with UPDATE_SNAPSHOTS=1 and commit the snapshot"
    )


def test_every_quality_suite_is_a_blocking_check_on_its_asset() -> None:
    from ingestion.contract import ENTITIES
    from orchestration.defs.quality.checks import QUARANTINE_CHECK, marts_quality, raw_quality
    from orchestration.lib.raw_assets import raw_asset_key
    from quality.mart_suites import mart_suites
    from quality.raw_suites import raw_suites

    expected = {
        dg.AssetCheckKey(dg.AssetKey(list(s.asset)), s.name) for s in raw_suites() + mart_suites()
    } | {dg.AssetCheckKey(raw_asset_key(e), QUARANTINE_CHECK) for e in ENTITIES.values()}
    specs = [spec for checks in (*raw_quality, marts_quality) for spec in checks.check_specs]
    assert {spec.key for spec in specs} == expected
    assert len(expected) == 53 + 10
    assert all(spec.blocking for spec in specs)
    assert expected <= set(defs.resolve_asset_graph().asset_check_keys)


def test_the_docs_table_gives_every_check_its_severity() -> None:
    """docs/quality.md: one row per check (names in backticks), its severity, why."""
    import re

    from orchestration.defs.quality.checks import QUARANTINE_CHECK
    from quality.mart_suites import mart_suites
    from quality.raw_suites import raw_suites

    table: dict[str, str] = {}
    docs = Path(__file__).parents[1] / "docs" / "quality.md"
    for line in docs.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            for name in re.findall(r"`([a-z_]+)`", cells[0]):
                table[name] = cells[2]
    for suite in raw_suites() + mart_suites():
        assert table[suite.name].startswith(suite.severity.value), suite.gx_name
    assert table[QUARANTINE_CHECK].startswith("WARN")


def test_instigator_intervals_and_crons_read_from_the_environment(
    clean_unionwh_env: pytest.MonkeyPatch,
) -> None:
    from orchestration.defs.automation import automation_seconds, refresh_cron
    from orchestration.defs.services.sensors import poll_seconds

    assert (automation_seconds(), poll_seconds(), refresh_cron()) == (300, 300, "0 2 * * *")
    clean_unionwh_env.setenv("UNIONWH_AUTOMATION_SECONDS", " 60 ")
    clean_unionwh_env.setenv("UNIONWH_LANDING_POLL_SECONDS", "")
    clean_unionwh_env.setenv("UNIONWH_REFRESH_CRON", "30 1 * * *")
    assert (automation_seconds(), poll_seconds(), refresh_cron()) == (60, 300, "30 1 * * *")
    clean_unionwh_env.setenv("UNIONWH_LANDING_POLL_SECONDS", "5m")
    with pytest.raises(ValueError, match="UNIONWH_LANDING_POLL_SECONDS='5m': must be a whole"):
        poll_seconds()


def test_schedules_name_every_asset_and_check_they_run() -> None:
    # A run that names its selection is one the automation sensor's eager conditions recognize
    # as having updated the asset too (orchestration/defs/automation.py, whole_pipeline).
    repository = defs.get_repository_def()
    graph = defs.resolve_asset_graph()
    assets = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    checks = set(graph.asset_check_keys)
    assert (len(assets), len(checks)) == (len(_current_asset_keys()), 338)
    requests = {}
    for name in ("daily_refresh", "weekly_full_refresh"):
        with (
            dg.instance_for_test() as instance,
            dg.build_schedule_context(repository_def=repository, instance=instance) as context,
        ):
            (request,) = repository.get_schedule_def(name).evaluate_tick(context).run_requests
        assert set(request.asset_selection) == assets
        assert set(request.asset_check_keys) == checks
        requests[name] = request.run_config
    assert requests["daily_refresh"] == {}
    whole = {"config": {"whole": True}}
    assert requests["weekly_full_refresh"]["ops"] == {
        "warehouse_dbt": {"config": {"full_refresh": True}},
        "serving__warehouse": whole,
        **{f"{source}_raw_quality": whole for source in ("membership", "disputes", "services")},
        "marts_quality": whole,
    }


def test_a_schedule_launches_nothing_while_its_previous_run_is_unfinished() -> None:
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("weekly_full_refresh")

    def tick(instance: dg.DagsterInstance) -> dg.ScheduleExecutionData:
        with dg.build_schedule_context(repository_def=repository, instance=instance) as context:
            return schedule.evaluate_tick(context)

    with dg.instance_for_test() as instance:
        runs = {
            (name, status): f"{name}-{status.value}".lower().replace("_", "-")
            for name in ("daily_refresh", "weekly_full_refresh")
            for status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED)
        }
        for (name, status), run_id in runs.items():
            if name == "weekly_full_refresh" and status == dg.DagsterRunStatus.STARTED:
                continue
            instance.add_run(
                dg.DagsterRun(
                    job_name="__ASSET_JOB",
                    run_id=run_id,
                    status=status,
                    tags={"dagster/schedule_name": name},
                )
            )
        # Another schedule's run in progress, and its own finished one, hold nothing back.
        assert len(tick(instance).run_requests) == 1
        unfinished = runs[("weekly_full_refresh", dg.DagsterRunStatus.STARTED)]
        instance.add_run(
            dg.DagsterRun(
                job_name="__ASSET_JOB",
                run_id=unfinished,
                status=dg.DagsterRunStatus.STARTING,
                tags={"dagster/schedule_name": "weekly_full_refresh"},
            )
        )
        skipped = tick(instance)
        assert skipped.run_requests == []
        assert skipped.skip_message == (
            f"weekly_full_refresh's run {unfinished} has not finished"
        )


def test_raw_and_serving_assets_say_when_they_are_late(
    clean_unionwh_env: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from orchestration.lib.freshness import ENV_FAIL_HOURS, refresh_freshness

    graph = defs.resolve_asset_graph()
    late = {
        key.to_user_string(): graph.get(key).freshness_policy
        for key in graph.get_all_asset_keys()
        if graph.get(key).freshness_policy is not None
    }
    raw = {k for k in late if k.startswith("raw/") and not k.endswith("_history")}
    assert set(late) == raw | {"serving/warehouse", "serving/dashboard"}
    assert len(raw) == 10  # every entity's current state; histories and deletions follow it
    policy = late["serving/warehouse"]
    assert (policy.fail_window.to_timedelta(), policy.warn_window.to_timedelta()) == (
        timedelta(hours=30),
        timedelta(hours=26),
    )
    clean_unionwh_env.setenv(ENV_FAIL_HOURS, "170")  # a weekly refresh
    assert refresh_freshness().warn_window.to_timedelta() == timedelta(hours=166)
    clean_unionwh_env.setenv(ENV_FAIL_HOURS, "3")
    with pytest.raises(ValueError, match="more than 4 hours"):
        refresh_freshness()
    clean_unionwh_env.setenv(ENV_FAIL_HOURS, "a day")
    with pytest.raises(ValueError, match="UNIONWH_FRESHNESS_FAIL_HOURS='a day': must be a number"):
        refresh_freshness()
    # Off by default in Dagster 1.13: the project's instance turns the evaluation on.
    settings = (Path(__file__).parents[1] / "orchestration" / "dagster.yaml").read_text()
    assert "\nfreshness:\n  enabled: true\n" in settings
