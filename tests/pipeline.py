"""Running the whole pipeline the way the contract says, for tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).with_name("dagster")


def materialize(sources: Path, base: Path) -> subprocess.CompletedProcess[str]:
    """Run the contract's command with every ``UNIONWH_*`` variable pointing under ``base``
    (sources at ``sources``); output and the Dagster instance go to ``base``."""
    home = base / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    out = base / "out"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("UNIONWH_")},
        "DAGSTER_HOME": str(home),
        "UNIONWH_MEMBERSHIP_DB_URL": f"sqlite:///{sources / 'membership.db'}",
        "UNIONWH_DISPUTES_EXPORT_DIR": str(sources / "disputes"),
        "UNIONWH_SERVICES_LANDING_DIR": str(sources / "landing"),
        "UNIONWH_WAREHOUSE_PATH": str(out / "warehouse.duckdb"),
        "UNIONWH_SERVING_PATH": str(out / "serving.duckdb"),
        "UNIONWH_PII_KEY": "pipeline-test-key",
    }
    done = subprocess.run(
        [str(DAGSTER), "asset", "materialize", "-m", "orchestration.definitions", "--select", "*"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    with (base / "dagster.log").open("a", encoding="utf-8") as log:
        log.write(done.stdout + done.stderr)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done
