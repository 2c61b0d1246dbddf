"""The README's way to open the warehouse from a shell works: ``python -m serving sql``.

The DuckDB CLI in .venv (DuckDB 1.5) cannot read files the pipeline's DuckDB 2.0 writes; this
shell runs on the pipeline's DuckDB. Each test builds its own small DuckDB file (in the
current storage format, like the warehouse) and runs the shell as a subprocess.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_command() -> list[str]:
    """The README's first ``python -m serving sql -c`` command, as argv for this interpreter."""
    found = re.search(r"^\.venv/bin/python (-m serving sql -c .*)$", README.read_text(), re.M)
    assert found, "README.md documents no `.venv/bin/python -m serving sql -c` command"
    return [sys.executable, *shlex.split(found.group(1))]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """create table marts.kpi_values as
            select * from (values
                ('new_members', 'ALL', 2527, 'persons'),
                ('new_members', '110105', 211, 'persons'),
                ('members_active_end', 'ALL', 24680, 'persons')
            ) as v(kpi_code, district_code, value, unit)"""
        )
        con.execute(
            """create table marts.kpi_definitions as
            select * from (values
                ('new_members', '新发展工会会员', 1.5::decimal(4, 2), date '2024-12-31'),
                ('members_active_end', '会员总数（期末）', null, null)
            ) as v(kpi_code, name_zh, share, as_of)"""
        )
    return path


def shell(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "serving", "sql", *args],
        cwd=ROOT,
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_readme_command_opens_the_warehouse(warehouse: Path) -> None:
    done = subprocess.run(
        readme_command(),
        cwd=ROOT,
        env={**os.environ, "UNIONWH_WAREHOUSE_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == " kpi_rows\n----------\n        3\n(1 row)\n"


def test_results_print_as_an_aligned_table(warehouse: Path) -> None:
    done = shell(
        "--warehouse",
        str(warehouse),
        "-c",
        "select * from marts.kpi_definitions order by kpi_code;"
        " select district_code, sum(value) as value from marts.kpi_values"
        " where district_code = 'none' group by all",
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        " kpi_code           | name_zh          | share | as_of\n"
        "--------------------+------------------+-------+------------\n"
        " members_active_end | 会员总数（期末） |  NULL | NULL\n"
        " new_members        | 新发展工会会员   |  1.50 | 2024-12-31\n"
        "(2 rows)\n"
        " district_code | value\n"
        "---------------+-------\n"
        "(0 rows)\n"
    )


def test_sql_on_standard_input_and_the_row_cap(warehouse: Path) -> None:
    done = shell(
        "--warehouse",
        str(warehouse),
        "--max-rows",
        "2",
        stdin="select kpi_code, value from marts.kpi_values order by value desc;\n",
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        " kpi_code           | value\n"
        "--------------------+-------\n"
        " members_active_end | 24680\n"
        " new_members        |  2527\n"
        "(first 2 rows; add a limit, or --max-rows 0 for all)\n"
    )


def test_read_only_unless_asked_and_errors_exit_1(warehouse: Path) -> None:
    done = shell("--warehouse", str(warehouse), "-c", "delete from marts.kpi_values")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("Error: ") and "read-only" in done.stderr

    done = shell("--warehouse", str(warehouse), "--write", "-c", "delete from marts.kpi_values")
    assert (done.returncode, done.stdout) == (0, " Count\n-------\n     3\n(1 row)\n")


def test_a_held_write_lock_is_waited_for_then_reported(warehouse: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
            " print('held', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        done = shell("--warehouse", str(warehouse), "--wait", "1", "-c", "select 1")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"{warehouse} is locked by another process")
    assert f"(PID {holder.pid})" in done.stderr
    assert waited >= 1

    # Released: the same command runs.
    assert shell("--warehouse", str(warehouse), "-c", "select 1 as one").stdout == (
        " one\n-----\n   1\n(1 row)\n"
    )


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "warehouse.duckdb"
    done = shell("--warehouse", str(missing), "--write", "-c", "select 1")
    assert done.returncode == 1
    assert "no such DuckDB file" in done.stderr
    assert not missing.exists()
