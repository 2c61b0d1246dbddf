"""Benchmark of the dbt warehouse build: a full `dbt build` on a freshly loaded raw layer, and
the incremental build after the simulator advances one day; prints the 2024 city-wide KPIs
next to the work report's figures.

    .venv/bin/python -m bench.warehouse --scale 0.1 1

Sources come from bench/out/sources-sf<scale>/ (made by bench.ingest, or generated here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import duckdb

from bench.ingest import OUT, _run, run_scales, sources
from bench.run import environment

DBT = Path(".venv/bin/dbt").resolve()
PROJECT = Path("dbt_project").resolve()

# KPIS.md, last column: the 2024 report figure at SF1 (ranges where the report rounds).
REPORT_2024 = {
    "new_single_unions": "1073",
    "new_members": "252700",
    "new_members_new_form": "54100",
    "disputes_accepted": "16000–16999",
    "disputes_mediated": "6367",
    "disputes_legal_aid": "4971",
    "disputes_recovered_yuan": "289,000,000 ± 0.5%",
    "hotline_requests": "53000–53999",
    "hotline_closure_rate": "1.0",
    "care_visits_person_times": "3,120,000–3,129,999",
    "new_form_service_person_times": "57,000–57,999",
    "culture_sports_person_times": "20,000,000",
    "skills_competition_participants": "100,000",
    "app_service_items_cumulative": "1915",
    "app_person_times_cumulative": "6,210,000",
    "labour_certificates": "87",
    "labour_medals": "429",
    "worker_pioneers": "183",
    "members_active_end": "—",
}


def dbt_build(warehouse: Path, target: Path) -> dict[str, float]:
    env = {**os.environ, "UNIONWH_WAREHOUSE_PATH": str(warehouse)}
    start = time.perf_counter()
    subprocess.run(
        [str(DBT), "build", "--profiles-dir", ".", "--target-path", str(target),
         "--log-path", str(target / "logs"), "--quiet", "--exclude-resource-type", "unit_test"],
        cwd=PROJECT, env=env, check=True,
    )  # fmt: skip
    return {"wall_s": round(time.perf_counter() - start, 1)}


def workspace(scale: float, seed: int, name: str) -> tuple[Path, dict[str, str]]:
    """A private copy of the scale's sources in ``bench/out/<name>-sf<scale>/``; returns the
    work directory and the ``UNIONWH_*`` environment pointing into it."""
    work = (OUT / f"{name}-sf{scale:g}").resolve()
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(sources(scale, seed), work / "sources")
    return work, environment(work)


def built_warehouse(scale: float, seed: int, name: str) -> tuple[Path, dict[str, str]]:
    """``workspace`` with the sources loaded and the warehouse built by dbt."""
    work, env = workspace(scale, seed, name)
    _run(["ingestion", "load"], env)
    dbt_build(work / "warehouse.duckdb", work / "target")
    return work, env


def bench_scale(scale: float, seed: int) -> dict[str, object]:
    work, env = workspace(scale, seed, "warehouse")
    warehouse = work / "warehouse.duckdb"
    row: dict[str, object] = {"scale": scale}
    _run(["ingestion", "load"], env)
    row["full_build"] = dbt_build(warehouse, work / "target")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row["kpis_2024"] = dict(
            con.execute(
                "select kpi_code, value from marts.kpi_values where period_grain = 'year' "
                "and period_start = date '2024-01-01' and district_code = 'ALL'"
            ).fetchall()
        )
    _run(["simulator", "advance", "--days", "1", "--out", str(work / "sources"), "--quiet"])
    _run(["ingestion", "load"], env)
    row["incremental_build"] = dbt_build(warehouse, work / "target")
    shutil.rmtree(work, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    rows = run_scales(__doc__, "warehouse.json", bench_scale, argv)
    print("| scale | full dbt build s | incremental dbt build s |")
    print("|---|---|---|")
    for r in rows:
        full, incremental = r["full_build"]["wall_s"], r["incremental_build"]["wall_s"]
        print(f"| {r['scale']} | {full} | {incremental} |")
    largest = rows[-1]
    print(f"\n2024 city-wide KPIs at SF{largest['scale']:g} (report figure at SF1):")
    print("| kpi | warehouse | report |")
    print("|---|---|---|")
    for code, report in REPORT_2024.items():
        print(f"| {code} | {largest['kpis_2024'].get(code)} | {report} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
