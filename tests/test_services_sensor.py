"""The landing-directory sensor: a run when complete files appear, none otherwise."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.defs.services.sensors import services_landing_sensor
from orchestration.resources import ServicesLandingResource


def evaluate(landing: Path, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"services_landing": ServicesLandingResource(landing_dir=str(landing))},
    )
    return services_landing_sensor(context)


def test_new_files_trigger_one_run_and_part_files_none(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    assert isinstance(evaluate(landing, None), dg.SkipReason)
    (landing / "deliveries" / "110105").mkdir(parents=True)
    (landing / "deliveries" / "110105" / "deliveries-20250101.csv").write_text("a\n")
    first = evaluate(landing, None)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests or []) == 1
    assert isinstance(evaluate(landing, first.cursor), dg.SkipReason)
    (landing / "deliveries" / "110105" / "deliveries-20250102.csv.part").write_text("a\n")
    assert isinstance(evaluate(landing, first.cursor), dg.SkipReason)
    (landing / "deliveries" / "110105" / "deliveries-20250102.csv").write_text("a\n")
    second = evaluate(landing, first.cursor)
    assert isinstance(second, dg.SensorResult) and second.cursor != first.cursor
    assert second.run_requests and second.run_requests[0].run_key == second.cursor
