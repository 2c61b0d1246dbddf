"""Running the whole pipeline the way the contract says, for tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).with_name("dagster")
DBT = Path(sys.executable).with_name("dbt")
PII_KEY = "pipeline-test-key"
KEEP_ALL_DBT_TARGETS = 1_000_000
AS_OF_DATE = "2026-06-30"


def materialize_args(select: str = "*") -> list[str]:
    """``dagster`` arguments that materialize the assets ``select`` picks."""
    return ["asset", "materialize", "-m", "orchestration.definitions", "--select", select]


MATERIALIZE = materialize_args()


def pipeline_env(sources: Path, base: Path, **extra: str) -> dict[str, str]:
    """Every ``UNIONWH_*`` variable pointing under ``base`` (sources at ``sources``), the
    Dagster instance in ``base/dagster_home``; ``extra`` adds or overrides variables."""
    home = base / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    out = base / "out"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("UNIONWH_")},
        "DAGSTER_HOME": str(home),
        "UNIONWH_MEMBERSHIP_DB_URL": f"sqlite:///{sources / 'membership.db'}",
        "UNIONWH_DISPUTES_EXPORT_DIR": str(sources / "disputes"),
        "UNIONWH_SERVICES_LANDING_DIR": str(sources / "landing"),
        "UNIONWH_WAREHOUSE_PATH": str(out / "warehouse.duckdb"),
        "UNIONWH_SERVING_PATH": str(out / "serving.duckdb"),
        "UNIONWH_PII_KEY": PII_KEY,
        # Parallel workers share dbt_project/target/: a run pruning to the newest ten would
        # delete another test's run directories while it reads them. The session prunes once
        # at its end (conftest.py).
        "UNIONWH_KEEP_DBT_TARGETS": str(KEEP_ALL_DBT_TARGETS),
        # Ages as of one fixed day: a test comparing a run with a baseline built before
        # midnight would otherwise see a birthday's member change age band.
        "UNIONWH_AS_OF_DATE": AS_OF_DATE,
        **extra,
    }


def run_dagster(
    env: dict[str, str], base: Path, *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """``dagster <args>`` from the project root in a session of its own (a crash point kills
    its whole process group, never pytest); its output is appended to ``base/dagster.log``.

    Past ``timeout`` seconds the whole group is killed, not only ``dagster``: its dbt and
    Spark's JVM would otherwise go on taking the cores from the rest of the suite."""
    command = [str(DAGSTER), *(args or MATERIALIZE)]
    with subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        stdout = stderr = ""
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise
        finally:
            with (base / "dagster.log").open("a", encoding="utf-8") as log:
                log.write(stdout + stderr)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def materialize(
    sources: Path,
    base: Path,
    run_config: dict | None = None,
    timeout: float = 900,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    """Run the contract's command on ``sources`` (with ``run_config``, as ``--config-json``);
    output and the Dagster instance go to ``base``. Fails the test unless the run succeeds."""
    args = [*MATERIALIZE, "--config-json", json.dumps(run_config)] if run_config else []
    done = run_dagster(pipeline_env(sources, base, **extra), base, *args, timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done


def dbt_results(base: Path) -> list[dict]:
    """The ``run_results.json`` entries of the dbt build of the newest run in ``base``'s
    Dagster instance (its own target directory under dbt_project/target/)."""
    with sqlite3.connect(base / "dagster_home" / "history" / "runs.db") as con:
        ((run_id,),) = con.execute("select run_id from runs order by id desc limit 1").fetchall()
    (target,) = (ROOT / "dbt_project" / "target").glob(f"warehouse_dbt-{run_id[:7]}-*")
    return json.loads((target / "run_results.json").read_text())["results"]


def dbt_manifest() -> dict:
    """The dbt project's manifest, as the code location parsed it."""
    return json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text())


def data_tests_of_the_project() -> set[str]:
    """The ids of the dbt project's data tests."""
    return {uid for uid, node in dbt_manifest()["nodes"].items() if node["resource_type"] == "test"}


def unit_tests_of_the_project() -> set[str]:
    """The ids of the dbt project's unit tests."""
    return set(dbt_manifest()["unit_tests"])


def run_dbt(env: dict[str, str], target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``dbt <args>`` in dbt_project/ with ``env``, its target and logs in ``target``."""
    return subprocess.run(
        [str(DBT), *args, "--profiles-dir", ".", "--target-path", str(target),
         "--log-path", str(target / "logs")],
        cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
