"""Runs launched the way people launch them: from the Dagster UI, by the daemon's schedule and
by the landing sensor, under ``dagster dev`` exactly as ``make ui`` starts it.

Those runs are not the ``dagster asset materialize`` CLI's: the code server spawns each one in
a ``multiprocessing`` spawn child (tests/test_spawned_worker.py says what that broke). The
three tests share one ``dagster dev`` and its instance and run in this order; each turns on
only the instigator it tests, as a user flips the toggle in the UI, and leaves no run in
progress:

1. "Materialize all" from the webserver, compared with the CLI's run of the same sources;
2. the sensors: the landing sensor skipped while everything is loaded, one run for the files
   an advance drops; the automation sensor then one run of what is built from them, which
   publishes;
3. the weekly full refresh's schedule (every minute here): one tick, one run of the whole
   pipeline with its run config (dbt --full-refresh), the serving file written whole; the
   automation sensor, on meanwhile, requests nothing during that run or after it.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import duckdb
import pytest
import requests
from browser import fenced_page
from pipeline import DAGSTER, ROOT, pipeline_env, run_dagster
from playwright.sync_api import expect
from servers import free_port
from serving_reader import publication_version
from warehouse_fingerprint import fingerprint

pytestmark = pytest.mark.slow

T = TypeVar("T")

MODULE = "orchestration.definitions"
# The weekly full refresh is the schedule that ticks here: the same whole pipeline as the
# nightly one, with run config (dbt --full-refresh, the serving file written whole).
SCHEDULE = "weekly_full_refresh"
NIGHTLY = "daily_refresh"
SENSOR = "services_landing_sensor"
AUTOMATION = "refresh_on_arrival"
ASSET_JOB = "__ASSET_JOB"  # the implicit job of all assets, what "Materialize all" launches
REFRESH_CRON = "* * * * *"
LANDING_POLL_SECONDS = 10
AUTOMATION_SECONDS = 10
STARTUP_TIMEOUT = 300
RUN_TIMEOUT = 15 * 60
SENSOR_TIMEOUT = 180
SCHEDULE_TIMEOUT = 180
MAX_SENSOR_RUNS = 3
# Runs the automation sensor may split one load's refresh into (see the sensor test): four in
# the clean-clone CI run of 755f968 on a slow day (2026-12-06), each tick seeing part of the
# previous run's updates.
MAX_REFRESH_RUNS = 6
UNFINISHED = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIEWPORT = {"width": 1600, "height": 1000}  # fenced_page keywords

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

INSTIGATORS_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        schedules { name cronSchedule scheduleState { status } }
        sensors { name minIntervalSeconds sensorState { status } }
      }
    }
  }
}
"""

# The fields of the UI's LaunchAssetExecutionAssetNodeFragment that decide what it launches.
ASSET_NODES_QUERY = """
{
  assetNodes {
    assetKey { path }
    jobNames
    isObservable
    isExecutable
    repository { name location { name } }
    assetChecksOrError { ... on AssetChecks { checks { name jobNames } } }
  }
}
"""

# The UI's LAUNCH_PIPELINE_EXECUTION_MUTATION (ui-core/src/runs/RunUtils.tsx).
LAUNCH_MUTATION = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { id runId pipelineName } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
  }
}
"""

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      runId status startTime endTime tags { key value } runConfigYaml
      assetSelection { path }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

RUN_FAILURE_QUERY = """
query RunFailure($runId: ID!, $afterCursor: String) {
  runOrError(runId: $runId) { ... on Run { stepStats { stepKey status } } }
  logsForRun(runId: $runId, afterCursor: $afterCursor) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message stack cause { message stack } } }
      }
    }
    ... on PythonError { message }
  }
}
"""

RUNS_QUERY = """
query Runs($statuses: [RunStatus!]) {
  runsOrError(filter: {statuses: $statuses}) {
    __typename
    ... on Runs { results { runId status tags { key value } } }
    ... on PythonError { message }
  }
}
"""

# An instigator's state and ticks: kind "schedule" or "sensor".
TICKS_QUERY = """
query Ticks($selector: {Kind}Selector!) {{
  {kind}OrError({kind}Selector: $selector) {{
    __typename
    ... on {Kind} {{
      {kind}State {{
        id
        status
        ticks(limit: 100) {{
          tickId status timestamp endTimestamp skipReason runIds error {{ message }}
        }}
      }}
    }}
    ... on PythonError {{ message }}
  }}
}}
"""

# What the UI's toggles send (ui-core/src/schedules/ScheduleMutations.tsx,
# ui-core/src/sensors/SensorMutations.tsx).
START_MUTATIONS = {
    "schedule": """
mutation StartThisSchedule($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { id status } }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
""",
    "sensor": """
mutation StartSensor($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { id status } }
    ... on SensorNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
""",
}
STOP_MUTATIONS = {
    "schedule": """
mutation StopSchedule($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { id status } }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
""",
    "sensor": """
mutation StopRunningSensor($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { id status } }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
""",
}


STARTED_TYPES = {"schedule": "ScheduleStateResult", "sensor": "Sensor"}
STOPPED_TYPES = {"schedule": "ScheduleStateResult", "sensor": "StopSensorMutationResult"}


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def took(item: dict[str, Any], start: str = "startTime", end: str = "endTime") -> str:
    """How long a run (or, with the timestamp keys, a tick) took, for the output of -s."""
    return f"{item[end] - item[start]:.0f} s"


def only_value(payload: dict[str, Any]) -> Any:
    """The one field of a GraphQL result besides ``__typename`` (e.g. ``scheduleState``)."""
    (value,) = (v for k, v in payload.items() if k != "__typename")
    return value


@dataclass
class DagsterDev:
    """A running ``dagster dev``: its URL, environment, sources and log, and its GraphQL."""

    url: str
    env: dict[str, str]
    sources: Path
    log: Path
    process: subprocess.Popen[bytes]
    location: str = ""
    repository: str = ""

    @property
    def warehouse(self) -> Path:
        return Path(self.env["UNIONWH_WAREHOUSE_PATH"])

    @property
    def serving(self) -> Path:
        return Path(self.env["UNIONWH_SERVING_PATH"])

    def log_tail(self, chars: int = 6000) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return f"\n--- dagster dev log ({self.log}), tail ---\n{text[-chars:]}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=120
        )
        assert response.ok, f"GraphQL HTTP {response.status_code}: {response.text[:2000]}"
        body = response.json()
        assert "errors" not in body, f"GraphQL errors: {body['errors']}{self.log_tail()}"
        return body["data"]

    def wait_for(
        self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 2.0
    ) -> T:
        """The first truthy ``probe()``; fails after ``timeout`` seconds or if dagster dev
        exited."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result
            code = self.process.poll()
            assert code is None, f"dagster dev exited ({code}) waiting for {what}{self.log_tail()}"
            assert time.monotonic() < deadline, f"no {what} in {timeout} s{self.log_tail()}"
            time.sleep(interval)

    def wait_until_loaded(self) -> None:
        def served() -> bool:
            try:
                return requests.get(f"{self.url}/server_info", timeout=5).ok
            except requests.RequestException:
                return False

        def loaded() -> dict[str, Any] | None:
            (entry,) = self.graphql(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
            if entry["loadStatus"] != "LOADED":
                return None
            location = entry["locationOrLoadError"]
            assert location["__typename"] == "RepositoryLocation", f"{location}{self.log_tail()}"
            return location

        self.wait_for("webserver answering /server_info", served, STARTUP_TIMEOUT, 1.0)
        location = self.wait_for("code location loaded", loaded, STARTUP_TIMEOUT, 1.0)
        self.location = location["name"]
        (repository,) = location["repositories"]
        self.repository = repository["name"]

    def selector(self, kind: str, name: str) -> dict[str, str]:
        return {
            "repositoryLocationName": self.location,
            "repositoryName": self.repository,
            f"{kind}Name": name,
        }

    # -- runs ----------------------------------------------------------------------------

    def launch_materialize_all(self) -> str:
        """Launch what the global asset graph's "Materialize all" button launches
        (ui-core/src/assets/LaunchAssetExecutionButton.tsx, 1.13): one run of the job every
        asset has in common, with every asset and every asset check of that job selected
        (``executionParamsForAssetJob``), tagged ``dagster/from_ui`` (uiExecutionTags.tsx)."""
        nodes = self.graphql(ASSET_NODES_QUERY)["assetNodes"]
        assets = [n for n in nodes if n["isExecutable"] and not n["isObservable"]]
        assert assets and len(assets) == len(nodes), "every asset should be materializable"
        # getCommonJob: the first job of the first asset that every asset is in.
        job = next(j for j in assets[0]["jobNames"] if all(j in a["jobNames"] for a in assets))
        assert job == ASSET_JOB
        checks = [
            {"name": check["name"], "assetKey": {"path": node["assetKey"]["path"]}}
            for node in assets
            for check in node["assetChecksOrError"].get("checks", [])
            if not check["jobNames"] or job in check["jobNames"]
        ]
        assert checks, "the definitions have asset checks"
        repository = assets[0]["repository"]
        assert (repository["location"]["name"], repository["name"]) == (
            self.location,
            self.repository,
        )
        execution_params = {
            "mode": "default",
            "executionMetadata": {"tags": [{"key": "dagster/from_ui", "value": "true"}]},
            "runConfigData": "{}",
            "selector": {
                "repositoryLocationName": repository["location"]["name"],
                "repositoryName": repository["name"],
                "pipelineName": job,
                "assetSelection": [{"path": node["assetKey"]["path"]} for node in assets],
                "assetCheckSelection": checks,
            },
        }
        launched = self.graphql(LAUNCH_MUTATION, {"executionParams": execution_params})
        result = launched["launchPipelineExecution"]
        assert result["__typename"] == "LaunchRunSuccess", f"{result}{self.log_tail()}"
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict[str, Any]:
        result = self.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
        assert result["__typename"] == "Run", result
        return result

    def wait_for_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            run = self.run(run_id)
            return run if run["status"] in FINISHED else None

        return self.wait_for(f"end of run {run_id}", finished, timeout, 3.0)

    def tick_run(self, tick: dict[str, Any]) -> dict[str, Any]:
        """The one run ``tick`` launched, once it has succeeded."""
        (run_id,) = tick["runIds"]
        run = self.wait_for_run(run_id)
        self.assert_succeeded(run)
        return run

    def failure_report(self, run_id: str) -> str:
        """The run's step statuses and its error events, from GraphQL."""
        lines: list[str] = []
        cursor: str | None = None
        for _ in range(100):  # pages of 1000 events
            data = self.graphql(RUN_FAILURE_QUERY, {"runId": run_id, "afterCursor": cursor})
            if not lines:
                steps = data["runOrError"].get("stepStats") or []
                lines += [f"step {s['stepKey']}: {s['status']}" for s in steps]
                lines.append("")
            logs = data["logsForRun"]
            if logs["__typename"] != "EventConnection":
                lines.append(f"logsForRun: {logs}")
                break
            for event in logs["events"]:
                error = event.get("error")
                if error or event.get("level") in ("ERROR", "CRITICAL"):
                    lines.append(
                        f"[{event['__typename']} {event.get('stepKey') or '-'}] "
                        f"{event.get('message', '')[:1500]}"
                    )
                    if error:
                        # Dagster wraps the user code's exception: its cause says what broke.
                        cause = error["cause"] or error
                        stack = "".join(cause["stack"] or [])[-2000:]
                        lines.append(f"  {error['message'].strip()}")
                        if cause is not error:
                            lines.append(f"  cause: {cause['message'].strip()}")
                        lines.append(stack)
            if not logs["hasMore"]:
                break
            cursor = logs["cursor"]
        return "\n".join(lines)

    def assert_succeeded(self, run: dict[str, Any]) -> None:
        if run["status"] != "SUCCESS":
            pytest.fail(
                f"run {run['runId']} ended {run['status']}:\n"
                f"{self.failure_report(run['runId'])}{self.log_tail()}"
            )

    def runs_in_progress(self) -> list[dict[str, Any]]:
        result = self.graphql(RUNS_QUERY, {"statuses": UNFINISHED})["runsOrError"]
        assert result["__typename"] == "Runs", result
        return result["results"]

    def assert_no_run_in_progress(self) -> None:
        assert self.runs_in_progress() == [], f"runs left in progress{self.log_tail()}"

    # -- schedules and sensors -------------------------------------------------------------

    def instigator_state(self, kind: str, name: str) -> dict[str, Any]:
        query = TICKS_QUERY.format(kind=kind, Kind=kind.capitalize())
        result = self.graphql(query, {"selector": self.selector(kind, name)})[f"{kind}OrError"]
        assert result["__typename"] == kind.capitalize(), result
        return result[f"{kind}State"]

    def ticks(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Finished ticks, oldest first."""
        ticks = self.instigator_state(kind, name)["ticks"]
        return sorted((t for t in ticks if t["status"] != "STARTED"), key=lambda t: t["timestamp"])

    def wait_for_tick_begun(self, kind: str, name: str, timeout: float) -> dict[str, Any]:
        """The first tick, as soon as it has begun (status STARTED included)."""

        def begun() -> dict[str, Any] | None:
            ticks = self.instigator_state(kind, name)["ticks"]
            return min(ticks, key=lambda t: t["timestamp"]) if ticks else None

        return self.wait_for(f"{kind} {name} tick begun", begun, timeout, 0.5)

    def wait_for_tick(
        self,
        kind: str,
        name: str,
        timeout: float,
        after: dict[str, Any] | None = None,
        wanted: Callable[[dict[str, Any]], bool] = lambda tick: True,
    ) -> dict[str, Any]:
        """The oldest finished tick later than ``after`` that is ``wanted``."""

        def tick() -> dict[str, Any] | None:
            later = [
                t
                for t in self.ticks(kind, name)
                if after is None or t["timestamp"] > after["timestamp"]
            ]
            return next((t for t in later if wanted(t)), None)

        return self.wait_for(f"{kind} {name} tick", tick, timeout, 1.0)

    def stop(self, kind: str, name: str) -> None:
        """Turned off as its toggle turns it off, unless it is off already."""
        state = self.instigator_state(kind, name)
        if state["status"] == "RUNNING":
            stopped = only_value(self.graphql(STOP_MUTATIONS[kind], {"id": state["id"]}))
            assert stopped["__typename"] == STOPPED_TYPES[kind], stopped
            assert only_value(stopped)["status"] == "STOPPED", stopped

    @contextmanager
    def turned_on(self, kind: str, name: str) -> Iterator[float]:
        """The instigator running, as its toggle in the UI turns it on; off again after.
        Yields when it was turned on (``time.time()``, as tick timestamps)."""
        turned_on_at = time.time()
        started = self.graphql(START_MUTATIONS[kind], {"selector": self.selector(kind, name)})
        result = only_value(started)
        assert result["__typename"] == STARTED_TYPES[kind], started
        state = only_value(result)
        assert state["status"] == "RUNNING", started
        try:
            yield turned_on_at
        finally:
            self.stop(kind, name)


@contextmanager
def interruptible_children() -> Iterator[None]:
    """Processes started inside get SIGINT's default action.

    A shell's background job (``cmd &``, ``nohup``) starts with SIGINT ignored and passes that
    on to its children; Dagster's processes make SIGTERM do what SIGINT does, so a ``dagster
    dev`` started from there ignores both. A caught signal is reset to its default by exec.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process``'s whole session (webserver, daemon, code servers, run workers) as
    Ctrl-C stops ``make ui``, and wait until every member is gone; SIGTERM, then SIGKILL,
    whatever is left."""

    def group_alive() -> bool:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    for sig, timeout in ((signal.SIGINT, 90), (signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + timeout
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
        while group_alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        if not group_alive():
            return


@pytest.fixture(scope="module")
def dagster_dev(
    demo_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterDev]:
    base = tmp_path_factory.mktemp("dagster_dev")
    sources = base / "sources"
    shutil.copytree(demo_sources, sources)  # test 2 advances it
    # The CLI run's variables (pipeline_run, same PII key), the schedule every minute and the
    # landing directory looked at every few seconds; DAGSTER_HOME in base/dagster_home.
    env = pipeline_env(
        sources,
        base,
        UNIONWH_FULL_REFRESH_CRON=REFRESH_CRON,
        UNIONWH_LANDING_POLL_SECONDS=str(LANDING_POLL_SECONDS),
        UNIONWH_AUTOMATION_SECONDS=str(AUTOMATION_SECONDS),
    )
    # `make dagster-home`, then the schedules and the sensors (RUNNING by default) stopped in
    # the instance before the daemon can tick: each test turns on what it tests.
    for args in (
        ("instance", "migrate"),
        ("schedule", "stop", SCHEDULE, "-m", MODULE),
        ("schedule", "stop", NIGHTLY, "-m", MODULE),
        ("sensor", "stop", SENSOR, "-m", MODULE),
        ("sensor", "stop", AUTOMATION, "-m", MODULE),
    ):
        done = run_dagster(env, base, *args, timeout=300)
        assert done.returncode == 0, (
            f"dagster {' '.join(args)}:\n{(done.stdout + done.stderr)[-3000:]}"
        )
    port = free_port()
    log = base / "dagster_dev.log"
    with log.open("wb") as out, interruptible_children():
        # What `make ui` runs.
        process = subprocess.Popen(
            [str(DAGSTER), "dev", "-m", MODULE, "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    dev = DagsterDev(f"http://127.0.0.1:{port}", env, sources, log, process)
    try:
        dev.wait_until_loaded()
        (repo,) = dev.graphql(INSTIGATORS_QUERY)["repositoriesOrError"]["nodes"]
        stopped = {"status": "STOPPED"}
        assert repo["schedules"] == [
            {"name": NIGHTLY, "cronSchedule": "0 2 * * *", "scheduleState": stopped},
            {"name": SCHEDULE, "cronSchedule": REFRESH_CRON, "scheduleState": stopped},
        ]
        assert repo["sensors"] == [
            {
                "name": AUTOMATION,
                "minIntervalSeconds": AUTOMATION_SECONDS,
                "sensorState": {"status": "STOPPED"},
            },
            {
                "name": SENSOR,
                "minIntervalSeconds": LANDING_POLL_SECONDS,
                "sensorState": {"status": "STOPPED"},
            },
        ]
        yield dev
    finally:
        stop_process_group(process)


def landing_files(landing: Path) -> dict[str, int]:
    """Complete files of the landing directory (``.part`` ones are still being written):
    path relative to it -> size, as ``meta.files`` records them."""
    return {
        path.relative_to(landing).as_posix(): path.stat().st_size
        for path in landing.rglob("*")
        if path.is_file() and not path.name.endswith(".part")
    }


def meta_files(warehouse: Path) -> set[tuple[str, str, str, int, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return set(
            con.execute("select source, entity, file, size, load_id from meta.files").fetchall()
        )


def screenshot_run_page(url: str, run_id: str, path: Path) -> None:
    """The run's page in headless Chromium once it shows the run's success; the UI may ask
    nothing of any host but the webserver."""
    with fenced_page(allowed_hosts=(urlsplit(url).netloc,), **VIEWPORT) as (page, fence):
        # The "Join the Dagster community" dialog that dagster dev shows on localhost,
        # dismissed as its Skip button would (CommunityNux.tsx).
        page.add_init_script("localStorage.setItem('communityNux', JSON.stringify('1'))")
        page.goto(f"{url}/runs/{run_id}", wait_until="domcontentloaded")
        # Run.tsx titles the page "Runs | <first 8 of the id> [<status>]".
        page.wait_for_function(
            "title => document.title.includes(title)",
            arg=f"{run_id[:8]} [SUCCESS]",
            timeout=60_000,
        )
        # The header's status tag, and the run's last events once its logs have loaded.
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("RUN_SUCCESS", exact=True)).to_be_visible(timeout=60_000)
        expect(page.get_by_text(f'Finished execution of run for "{ASSET_JOB}".')).to_be_visible()
        page.screenshot(path=str(path))
    assert fence.blocked == []


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
    assert 20_000 < len(data) < 20_000_000, f"{path}: {len(data)} bytes"


def test_materialize_all_from_the_webserver(
    dagster_dev: DagsterDev, pipeline_run: dict, tmp_path: Path
) -> None:
    run = dagster_dev.wait_for_run(dagster_dev.launch_materialize_all())
    dagster_dev.assert_succeeded(run)
    assert tags_of(run)["dagster/from_ui"] == "true"
    dagster_dev.assert_no_run_in_progress()
    print(f"\nmaterialize all: run took {took(run)}")

    # The same sources and PII key as the CLI's run: the same published marts (the
    # fingerprint leaves out load ids and times, and meta.publication).
    assert dagster_dev.serving.exists(), dagster_dev.log_tail()
    published = fingerprint(dagster_dev.serving)
    assert "marts.kpi_values" in published
    assert published == fingerprint(pipeline_run["out"] / "serving.duckdb")

    png = tmp_path / "run.png"
    screenshot_run_page(dagster_dev.url, run["runId"], png)
    assert_png(png)
    print(f"\nrun page screenshot: {png}")


def test_sensors_load_new_landing_files_and_refresh_what_they_feed(
    dagster_dev: DagsterDev,
) -> None:
    landing = dagster_dev.sources / "landing"
    assert dagster_dev.warehouse.exists(), "test_materialize_all_from_the_webserver loads first"
    published_before = publication_version(dagster_dev.serving)
    with (
        dagster_dev.turned_on("sensor", AUTOMATION) as automation_on_at,
        dagster_dev.turned_on("sensor", SENSOR) as turned_on_at,
    ):
        # Its first tick only starts its cursor: materialize all left nothing to request.
        first = dagster_dev.wait_for_tick("sensor", AUTOMATION, SENSOR_TIMEOUT)
        assert first["runIds"] == [], first
        print(f"\nautomation: first tick {first['timestamp'] - automation_on_at:.0f} s after on")
        first = dagster_dev.wait_for_tick("sensor", SENSOR, SENSOR_TIMEOUT)
        assert first["status"] == "SKIPPED" and first["runIds"] == [], first
        print(
            f"\nsensor: first tick {first['timestamp'] - turned_on_at:.0f} s after turning it "
            f"on, took {took(first, 'timestamp', 'endTimestamp')}: {first['skipReason']}"
        )

        # Right after a tick, so the next one most likely sees all of the advance's files.
        before, loaded_before = landing_files(landing), meta_files(dagster_dev.warehouse)
        done = subprocess.run(
            [sys.executable, "-m", "simulator", "advance", "--days", "1",
             "--out", str(dagster_dev.sources), "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        new = set(landing_files(landing).items()) - set(before.items())
        assert new, "the advance dropped no landing files"
        advanced_at = time.time()

        # A tick that lists the landing directory while the advance writes it sees part of
        # the files; the rest is a further run, after this one.
        runs: list[dict[str, Any]] = []
        tick = first
        loaded: set[tuple[str, str, str, int, str]] = set()
        while not {(file, size) for _, _, file, size, _ in loaded} >= new:
            assert len(runs) < MAX_SENSOR_RUNS, f"{len(runs)} sensor runs loaded {loaded}"
            tick = dagster_dev.wait_for_tick(
                "sensor", SENSOR, SENSOR_TIMEOUT, after=tick, wanted=lambda t: bool(t["runIds"])
            )
            run = dagster_dev.tick_run(tick)
            assert tags_of(run)["dagster/sensor_name"] == SENSOR
            runs.append(run)
            print(
                f"sensor: run requested {tick['timestamp'] - advanced_at:.0f} s after the "
                f"advance, by a tick that took {took(tick, 'timestamp', 'endTimestamp')}; "
                f"the run took {took(run)}"
            )
            loaded = meta_files(dagster_dev.warehouse) - loaded_before
        launched = [t for t in dagster_dev.ticks("sensor", SENSOR) if t["runIds"]]

        # What the loads feed, refreshed by the automation sensor once the last load has
        # materialized the raw assets (its run may still be running its checks then). A tick
        # that began while the load run wrote its raw assets one by one sees some of them
        # updated: it requests what those feed, and a later tick the rest (eager reads updates
        # up to the event the tick began at, "in progress" as it is when it evaluates; seen on
        # the 2-core machine under load, 2026-12-06). So: every run the sensor requests after
        # the last load, until a tick after all of them have ended requests nothing.
        last_load = max(float(r["startTime"]) for r in runs)
        first = dagster_dev.wait_for_tick(
            "sensor",
            AUTOMATION,
            RUN_TIMEOUT,
            wanted=lambda t: bool(t["runIds"]) and t["timestamp"] > last_load,
        )
        refreshed = {first["runIds"][0]: dagster_dev.tick_run(first)}
        while True:
            ended = max(float(r["endTime"]) for r in refreshed.values())
            quiet = dagster_dev.wait_for_tick(
                "sensor",
                AUTOMATION,
                SENSOR_TIMEOUT,
                wanted=lambda t, ended=ended: t["timestamp"] > ended,
            )
            requested = [
                t
                for t in dagster_dev.ticks("sensor", AUTOMATION)
                if t["runIds"] and t["timestamp"] > last_load and t["runIds"][0] not in refreshed
            ]
            if not requested:
                break
            for tick in requested:
                refreshed[tick["runIds"][0]] = dagster_dev.tick_run(tick)
            assert len(refreshed) <= MAX_REFRESH_RUNS, sorted(refreshed)
        print(
            f"automation: {len(refreshed)} run(s), the first requested "
            f"{first['timestamp'] - last_load:.0f} s after the last load started, the last "
            f"ended {ended - last_load:.0f} s after it"
        )
        # Then everything the loads feed is up to date: the next tick requests nothing.
        assert quiet["runIds"] == [], quiet
        refreshes = [t for t in dagster_dev.ticks("sensor", AUTOMATION) if t["runIds"]]

    assert {(file, size) for _, _, file, size, _ in loaded} == new
    assert {source for source, *_ in loaded} == {"services"}
    assert len({load_id for *_, load_id in loaded}) == len(runs)
    assert [t["runIds"] for t in launched] == [[r["runId"]] for r in runs]
    dagster_dev.assert_no_run_in_progress()

    # The refreshes ran what the services' loads feed, and only that (tests/test_automation.py
    # has the exact set); the last one published.
    assert sorted(t["runIds"][0] for t in refreshes) == sorted(refreshed)
    selected: set[str] = set()
    for run in refreshed.values():
        assert tags_of(run)["dagster/sensor_name"] == AUTOMATION
        selected |= {"/".join(key["path"]) for key in run["assetSelection"]}
    assert {"marts/fct_service_deliveries", "serving/warehouse"} <= selected, selected
    assert not {key for key in selected if key.startswith("raw/")}, selected
    assert "marts/fct_dispute_cases" not in selected, selected
    published = publication_version(dagster_dev.serving)
    assert published is not None and published != published_before


def test_schedule_tick_runs_the_whole_pipeline(dagster_dev: DagsterDev) -> None:
    published_before = publication_version(dagster_dev.serving)
    # The automation sensor on throughout, as it is by default: the scheduled run updates
    # everything, so it must request nothing, during the run or after it.
    with dagster_dev.turned_on("sensor", AUTOMATION) as automation_on_at:
        with dagster_dev.turned_on("schedule", SCHEDULE) as turned_on_at:
            begun = dagster_dev.wait_for_tick_begun("schedule", SCHEDULE, SCHEDULE_TIMEOUT)
        # Stopped as soon as the tick began (a tick took over a minute in CI on a slow day,
        # 2026-12-06), and again when it ended: the daemon writes the schedule's state as it
        # read it, RUNNING, at the end of a tick. A tick while the run is unfinished skips.
        tick = dagster_dev.wait_for_tick(
            "schedule",
            SCHEDULE,
            SCHEDULE_TIMEOUT,
            wanted=lambda t: t["tickId"] == begun["tickId"],
        )
        dagster_dev.stop("schedule", SCHEDULE)
        assert tick["status"] == "SUCCESS", tick
        run = dagster_dev.tick_run(tick)
        print(
            f"\nschedule: tick {tick['timestamp'] - turned_on_at:.0f} s after turning it on, "
            f"took {took(tick, 'timestamp', 'endTimestamp')}; the run took {took(run)}"
        )
        ended = float(run["endTime"])
        dagster_dev.wait_for_tick(
            "sensor",
            AUTOMATION,
            SENSOR_TIMEOUT,
            wanted=lambda t: t["timestamp"] > ended + 2 * AUTOMATION_SECONDS,
        )
        ticks = dagster_dev.ticks("sensor", AUTOMATION)
        during = [t for t in ticks if t["timestamp"] > automation_on_at]
    # No tick requests anything, during the run or after it. The scheduled run names every
    # asset and check it runs (automation.whole_pipeline): before it did, a tick that began
    # while the run materialized an asset could request that asset or its checks again (CI
    # and alone, 2026-12-06: serving/warehouse and serving/dashboard, a quarantine check).
    assert len(during) >= 3 and [t["runIds"] for t in during] == [[]] * len(during)
    assert [t for t in during if t["timestamp"] > ended]
    assert tags_of(run)["dagster/schedule_name"] == SCHEDULE
    schedule_ticks = dagster_dev.ticks("schedule", SCHEDULE)
    assert [t["runIds"] for t in schedule_ticks if t["runIds"]] == [[run["runId"]]]
    assert {t["status"] for t in schedule_ticks[1:]} <= {"SKIPPED"}, schedule_ticks
    dagster_dev.assert_no_run_in_progress()

    published = publication_version(dagster_dev.serving)
    assert published is not None and published != published_before
    assert "full_refresh: true" in run["runConfigYaml"] and "whole: true" in run["runConfigYaml"]
    with duckdb.connect(str(dagster_dev.serving), read_only=True) as con:
        tables, rewritten = con.execute(
            "select len(json_keys(tables)), "
            "json_array_length(details -> 'rewritten') from meta.publication"
        ).fetchall()[0]
    assert rewritten == tables == 30  # written whole
