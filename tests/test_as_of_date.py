"""UNIONWH_AS_OF_DATE pins the day ages are computed at (dbt macro ``as_of_date``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pipeline import DBT, ROOT

AGE_QUERY = "select {{ age_years(\"date '2000-07-01'\") }} as age, {{ as_of_date() }} as as_of"


def show(tmp_path: Path, as_of: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONWH_")}
    env |= {"UNIONWH_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "UNIONWH_AS_OF_DATE": as_of}
    return subprocess.run(
        [DBT, "show", "--inline", AGE_QUERY, "--output", "json", "--log-format", "text",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)],
        cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("as_of", "age"), [("2026-06-30", 25), ("2026-07-01", 26), (" 2024-02-29 ", 23)]
)
def test_a_pinned_day_fixes_the_age(tmp_path: Path, as_of: str, age: int) -> None:
    done = show(tmp_path, as_of)
    assert done.returncode == 0, done.stdout[-2000:]
    assert f'"age": {age}' in done.stdout
    assert f'"as_of": "{as_of.strip()}"' in done.stdout


def test_a_day_not_written_yyyy_mm_dd_is_refused_by_name(tmp_path: Path) -> None:
    done = show(tmp_path, "30/06/2026")
    assert done.returncode != 0
    assert "UNIONWH_AS_OF_DATE must be a date as yyyy-mm-dd, not '30/06/2026'" in done.stdout
