"""The landing-directory sensor: a run for complete files the warehouse has not loaded, none
for files it holds (``meta.files``), none while another run is in progress."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from core.warehouse import connect
from ingestion.raw_store import RawStore
from orchestration.defs.services.sensors import services_landing_sensor
from orchestration.lib.resources import ServicesLandingResource, WarehouseResource

DELIVERY = "deliveries/110105/deliveries-20250101.csv"
PROGRAMS = "programs/programs-20250101.csv"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "out" / "warehouse.duckdb"


def evaluate(
    landing: Path, warehouse: Path, instance: dg.DagsterInstance | None = None
) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance or dg.DagsterInstance.ephemeral(),
        resources={
            "services_landing": ServicesLandingResource(landing_dir=str(landing)),
            "warehouse": WarehouseResource(path=str(warehouse)),
        },
    )
    return services_landing_sensor(context)


def drop(landing: Path, *paths: str) -> None:
    for relative in paths:
        (landing / relative).parent.mkdir(parents=True, exist_ok=True)
        (landing / relative).write_text("a\n")


def record_loaded(warehouse: Path, *files: tuple[str, str]) -> None:
    """What a committed services load leaves in ``meta.files``."""
    RawStore(warehouse).ensure()
    with connect(warehouse) as con:
        for entity, file in files:
            con.execute(
                "insert into meta.files values ('services', ?, ?, 2, 'load-1')", [entity, file]
            )


def requested(result: dg.SensorResult | dg.SkipReason) -> list[dg.RunRequest]:
    assert isinstance(result, dg.SensorResult), result
    return list(result.run_requests or [])


def test_no_landing_directory_and_no_files_skip(tmp_path: Path, warehouse: Path) -> None:
    landing = tmp_path / "landing"
    assert isinstance(evaluate(landing, warehouse), dg.SkipReason)
    landing.mkdir()
    assert isinstance(evaluate(landing, warehouse), dg.SkipReason)


def test_files_before_any_load_make_one_run(tmp_path: Path, warehouse: Path) -> None:
    landing = tmp_path / "landing"
    drop(landing, DELIVERY, PROGRAMS)
    (run,) = requested(evaluate(landing, warehouse))
    assert run.tags["landing_files"] == "2"
    assert not warehouse.exists()  # the sensor only reads


def test_loaded_files_make_no_run_and_only_new_complete_files_do(
    tmp_path: Path, warehouse: Path
) -> None:
    landing = tmp_path / "landing"
    drop(landing, DELIVERY, PROGRAMS, "notes/readme.txt")
    record_loaded(warehouse, ("delivery", DELIVERY), ("program", PROGRAMS))
    skipped = evaluate(landing, warehouse)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == "every landing file is loaded"

    # Still being written, and hidden editor files: not data yet.
    drop(landing, "deliveries/110105/deliveries-20250102.csv.part", "deliveries/.~lock.csv#")
    assert isinstance(evaluate(landing, warehouse), dg.SkipReason)

    drop(landing, "deliveries/110105/deliveries-20250102.csv")
    (first,) = requested(evaluate(landing, warehouse))
    assert first.tags["landing_files"] == "1"
    # The same unloaded set asks for the same run (Dagster runs a run key once) ...
    (again,) = requested(evaluate(landing, warehouse))
    assert again.run_key == first.run_key
    # ... and a further file makes a new set.
    drop(landing, "deliveries/110108/deliveries-20250102.csv")
    (second,) = requested(evaluate(landing, warehouse))
    assert second.tags["landing_files"] == "2" and second.run_key != first.run_key


def test_no_run_while_another_is_in_progress(tmp_path: Path, warehouse: Path) -> None:
    landing = tmp_path / "landing"
    drop(landing, DELIVERY)
    instance = dg.DagsterInstance.ephemeral()
    running = dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED)
    instance.add_run(running)
    skipped = evaluate(landing, warehouse, instance)
    assert isinstance(skipped, dg.SkipReason)
    assert "in progress" in (skipped.skip_message or "")
    instance.report_run_failed(running)
    assert len(requested(evaluate(landing, warehouse, instance))) == 1
