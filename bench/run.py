"""The benchmark: the pipeline's stages against DuckDB's own limit and a PostgreSQL peer.

    .venv/bin/python -m bench run --scale 0.1 1      # JSON and Markdown in bench/out/
    .venv/bin/python -m bench run --quick            # SF 0.002, a few minutes: CI runs it

Per scale factor, in one run and on one machine:

1. the simulator generates the sources (timed apart: it is not the pipeline);
2. **full refresh** into an empty warehouse, one process per stage, each measured alone
   (wall, CPU, peak RSS): ingestion of membership, disputes and services, ``dbt build``,
   the data-quality suites (``python -m quality run``) and publication
   (``python -m serving publish``);
3. **the limit**: the same work by DuckDB alone (``bench.limit``), stage by stage;
4. **the peer**: the raw layer copied into PostgreSQL and the same dbt project built there
   (``dbt build --target postgres``), against step 2's ``dbt build``;
5. **incremental**: ``simulator advance --days 1``, then every stage of step 2 again;
6. **idle**: every stage once more with nothing new at the sources: what a day costs before
   any change, the floor under the incremental day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from bench.measure import StageFailed, measure, python_module
from core import source_free
from core.warehouse import connect

OUT = Path("bench/out")
ROOT = Path(__file__).resolve().parents[1]
DBT = ROOT / ".venv" / "bin" / "dbt"
DBT_PROJECT = ROOT / "dbt_project"
SOURCES = ("membership", "disputes", "services")
# The pipeline's runs a scale factor is measured in: from empty, by DuckDB alone, the day
# after, and that day again with no change at the sources.
RUNS = ("full", "limit", "incremental", "idle")
QUICK_SCALE = 0.002
# The quality CLI exits 1 when an ERROR suite fails; a tiny world fails the 99 % bands by
# construction (the simulator plants a fixed number of bad rows), which is a result here.
QUALITY_EXIT_CODES = (0, 1)
TARGETS = {
    "full_vs_limit_max": 2.0,
    "incremental_share_max": 0.03,
    "postgres_vs_duckdb_min": 3.0,
    "peak_rss_gib_max": 4.0,
}


def machine() -> dict[str, object]:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    packages = ["duckdb", "dbt-core", "dbt-duckdb", "dbt-postgres", "dagster",
                "great-expectations", "polars", "pyarrow", "dbt-spark", "pyspark"]  # fmt: skip
    versions = {}
    for name in packages:
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - an absent optional package is reported as such
            versions[name] = None
    return {
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def environment(work: Path) -> dict[str, str]:
    """The ``UNIONWH_*`` environment of a benchmark's work directory (sources in
    ``work/sources``, warehouse and serving files beside them)."""
    src = work / "sources"
    return {
        **os.environ,
        "UNIONWH_MEMBERSHIP_DB_URL": f"sqlite:///{src / 'membership.db'}",
        "UNIONWH_DISPUTES_EXPORT_DIR": str(src / "disputes"),
        "UNIONWH_SERVICES_LANDING_DIR": str(src / "landing"),
        "UNIONWH_WAREHOUSE_PATH": str(work / "warehouse.duckdb"),
        "UNIONWH_SERVING_PATH": str(work / "serving.duckdb"),
        "UNIONWH_PII_KEY": "bench-key",
    }


def dbt_parse(work: Path, env: dict[str, str], target: str = "duckdb") -> None:
    """Parse the project once, untimed, as Dagster does when it loads the definitions
    (``DbtProject.prepare_if_dev``); each build then starts from its partial-parse file."""
    path = work / f"dbt-parse-{target}"
    measure([str(DBT), "parse", "--profiles-dir", ".", "--target", target,
             "--target-path", str(path), "--log-path", str(path / "logs"), "--quiet"],
            env, cwd=DBT_PROJECT)  # fmt: skip


def dbt_build(work: Path, env: dict[str, str], name: str, target: str = "duckdb") -> list[str]:
    """The ``dbt build`` command into ``work/dbt-<name>``, seeded with the partial-parse file
    as dagster-dbt seeds each run's target directory; without the unit tests, as the
    pipeline builds (orchestration/defs/dbt/assets.py)."""
    path = work / f"dbt-{name}"
    parsed = work / f"dbt-parse-{target}" / "partial_parse.msgpack"
    if parsed.exists():
        path.mkdir(parents=True, exist_ok=True)
        shutil.copy(parsed, path / parsed.name)
    return [str(DBT), "build", "--profiles-dir", ".", "--target", target,
            "--target-path", str(path), "--log-path", str(path / "logs"), "--quiet",
            "--exclude-resource-type", "unit_test"]  # fmt: skip


def build_measured(work: Path, env: dict[str, str], name: str) -> dict[str, Any]:
    """The pipeline's ``dbt build`` of the whole project, measured: as the Dagster asset
    does (orchestration/defs/dbt/assets.py), it leaves out the source-free nodes when the
    warehouse already holds them as the project defines them, and records them once a build
    has built and passed them all (``core/source_free.py``). Those two steps read the
    manifest and open the warehouse; their time is added to the stage's wall time."""
    warehouse = Path(env["UNIONWH_WAREHOUSE_PATH"])
    manifest = json.loads((work / "dbt-parse-duckdb" / "manifest.json").read_text())
    start = time.perf_counter()
    with connect(warehouse) as con:
        extra = source_free.nightly_args(con, manifest)
    around = time.perf_counter() - start
    stage = measure([*dbt_build(work, env, name), *extra], env, cwd=DBT_PROJECT)
    target = work / f"dbt-{name}"
    start = time.perf_counter()
    results = json.loads((target / "run_results.json").read_text())["results"]
    with connect(warehouse) as con:
        source_free.record(con, manifest, results)
    around += time.perf_counter() - start
    stage["wall_s"] = round(stage["wall_s"] + around, 2)
    stage["node_seconds"] = dbt_node_seconds(target)
    stage["source_free_left_out"] = bool(extra)
    return stage


def dbt_node_seconds(target_dir: Path) -> dict[str, float]:
    """Seconds the engine spent per kind of dbt node (``run_results.json``), summed over both
    threads: the build's SQL time without dbt's own start-up and per-node bookkeeping."""
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    out: dict[str, float] = {}
    for node in results:
        kind = node["unique_id"].split(".", 1)[0]
        out[kind] = round(out.get(kind, 0.0) + node["execution_time"], 2)
    out["all"] = round(sum(v for k, v in out.items()), 2)
    return out


def pipeline_stages(work: Path, env: dict[str, str], name: str) -> dict[str, dict[str, Any]]:
    """Every stage of one pipeline run, each its own measured process, in order."""
    stages: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        stages[f"ingest_{source}"] = measure(
            python_module(["ingestion", "load", "--source", source]), env
        )
    stages["dbt"] = build_measured(work, env, name)
    warehouse = env["UNIONWH_WAREHOUSE_PATH"]
    stages["quality"] = measure(
        python_module(["quality", "run", "--warehouse", warehouse]),
        env,
        ok_codes=QUALITY_EXIT_CODES,
    )
    stages["publication"] = measure(python_module(["serving", "publish"]), env)
    return stages


def limit_stages(work: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    limit = work / "limit" / "warehouse.duckdb"
    shutil.rmtree(limit.parent, ignore_errors=True)
    pipeline = env["UNIONWH_WAREHOUSE_PATH"]
    base = ["bench.limit"]
    stages: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        stages[f"ingest_{source}"] = measure(python_module([
            *base, "ingest", "--source", source, "--sources", str(work / "sources"),
            "--warehouse", str(limit), "--like", pipeline]), env)  # fmt: skip
    stages["dbt"] = measure(python_module([*base, "dbt", "--warehouse", str(limit),
        "--target", str(work / "dbt-full"), "--like", pipeline]), env)  # fmt: skip
    stages["quality"] = measure(python_module([*base, "quality", "--warehouse", str(limit)]), env)
    stages["publication"] = measure(python_module([*base, "publish", "--warehouse", str(limit),
        "--serving", str(limit.parent / "serving.duckdb")]), env)  # fmt: skip
    return stages


def kpi_agreement(pipeline: Path, limit: Path) -> dict[str, int]:
    """How many of the pipeline's ``marts.kpi_values`` rows the limit reproduced exactly: the
    check that the limit did the same work, not less."""
    with duckdb.connect() as con:
        con.execute(f"attach '{pipeline}' as p (read_only)")
        con.execute(f"attach '{limit}' as l (read_only)")
        total = con.execute("select count(*) from p.marts.kpi_values").fetchall()[0][0]
        equal = con.execute(
            "select count(*) from (select * from p.marts.kpi_values "
            "intersect all select * from l.marts.kpi_values)"
        ).fetchall()[0][0]
    return {"pipeline_rows": total, "equal_rows": equal}


def peer_stages(work: Path, env: dict[str, str], database: str) -> dict[str, Any]:
    """The raw layer into PostgreSQL, then the dbt project built there."""
    from bench import peer

    if not peer.reachable():
        return {"skipped": f"no PostgreSQL at {peer.HOST}:{peer.PORT}"}
    warehouse = env["UNIONWH_WAREHOUSE_PATH"]
    load = measure(
        python_module(["bench.peer", "--load-only", "--warehouse", warehouse,
                       "--database", database]), env)  # fmt: skip
    pg_env = {**env, "UNIONWH_PG_DATABASE": database}
    try:
        dbt_parse(work, pg_env, "postgres")
        build = measure(dbt_build(work, pg_env, "postgres", "postgres"), pg_env, cwd=DBT_PROJECT)
        build["node_seconds"] = dbt_node_seconds(work / "dbt-postgres")
    finally:
        peer.drop_database(database)
    return {"load_raw": load, "dbt": build}


def _total(stages: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {
        "wall_s": round(sum(s["wall_s"] for s in stages.values()), 2),
        "cpu_s": round(sum(s["cpu_s"] for s in stages.values()), 2),
        "peak_rss_gib": max(s["peak_rss_gib"] for s in stages.values()),
    }


def bench_scale(scale: float, seed: int, peer_db: str | None, out: Path = OUT) -> dict[str, Any]:
    work = (out / f"run-sf{scale:g}").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = environment(work)
    row: dict[str, Any] = {"scale": scale, "seed": seed}
    row["generate"] = measure(python_module(["simulator", "generate", "--scale", str(scale),
        "--seed", str(seed), "--out", str(work / "sources"), "--quiet"]))  # fmt: skip
    dbt_parse(work, env)
    row["full"] = pipeline_stages(work, env, "full")
    row["limit"] = limit_stages(work, env)
    row["limit_kpis"] = kpi_agreement(work / "warehouse.duckdb", work / "limit/warehouse.duckdb")
    row["peer"] = peer_stages(work, env, peer_db) if peer_db else {"skipped": "--no-peer"}
    row["advance"] = measure(python_module(["simulator", "advance", "--days", "1",
        "--out", str(work / "sources"), "--quiet"]))  # fmt: skip
    row["incremental"] = pipeline_stages(work, env, "incremental")
    row["idle"] = pipeline_stages(work, env, "idle")
    row["totals"] = {run: _total(row[run]) for run in RUNS}
    row["sizes_mib"] = {
        "sources": _mib(work / "sources"),
        "raw_parquet": _mib(work / "warehouse_raw"),
        "warehouse": _mib(work / "warehouse.duckdb"),
        "serving": _mib(work / "serving.duckdb"),
        "limit_warehouse": _mib(work / "limit" / "warehouse.duckdb"),
    }
    row["targets"] = judge(row)
    shutil.rmtree(work, ignore_errors=True)
    return row


def _mib(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)


def judge(row: dict[str, Any]) -> dict[str, Any]:
    full, limit, inc, idle = (row["totals"][k]["wall_s"] for k in RUNS)
    out: dict[str, Any] = {
        "full_vs_limit": round(full / limit, 2),
        "incremental_share": round(inc / full, 4),
        "idle_share": round(idle / full, 4),
        # the pipeline's own processes; the limit's are DuckDB alone
        "peak_rss_gib": max(row["totals"][k]["peak_rss_gib"] for k in RUNS if k != "limit"),
    }
    if "dbt" in row["peer"]:
        pg, duck = row["peer"]["dbt"]["node_seconds"], row["full"]["dbt"]["node_seconds"]
        out["postgres_vs_duckdb_node_seconds"] = round(pg["all"] / duck["all"], 2)
        out["postgres_vs_duckdb"] = round(
            row["peer"]["dbt"]["wall_s"] / row["full"]["dbt"]["wall_s"], 2
        )
    out["met"] = {
        "full_vs_limit": out["full_vs_limit"] <= TARGETS["full_vs_limit_max"],
        "incremental_share": out["incremental_share"] <= TARGETS["incremental_share_max"],
        "peak_rss": out["peak_rss_gib"] <= TARGETS["peak_rss_gib_max"],
    }
    if "postgres_vs_duckdb" in out:
        out["met"]["postgres_vs_duckdb"] = (
            out["postgres_vs_duckdb"] >= TARGETS["postgres_vs_duckdb_min"]
        )
    return out


STAGE_LABELS = {
    "ingest_membership": "ingestion: membership",
    "ingest_disputes": "ingestion: disputes",
    "ingest_services": "ingestion: services",
    "dbt": "dbt build",
    "quality": "data quality",
    "publication": "publication",
}


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "—"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"Measured {result['date']} on {m['arch']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        + f"; load average at start {m['load_average_at_start']}.",
        "",
    ]
    for row in result["rows"]:
        sf = f"SF{row['scale']:g}"
        g = row["generate"]
        lines += [
            f"### {sf} (seed {row['seed']})",
            "",
            f"Sources generated in {g['wall_s']} s (CPU {g['cpu_s']} s, peak RSS "
            f"{g['peak_rss_gib']} GiB), not counted below; `advance --days 1` "
            f"{row['advance']['wall_s']} s. Sizes (MiB): "
            + ", ".join(f"{k} {v}" for k, v in row["sizes_mib"].items())
            + ".",
            "",
            "| stage | full s | CPU s | peak RSS GiB | limit s | full / limit "
            "| incremental s | incremental CPU s | incremental RSS GiB | idle s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for key, label in STAGE_LABELS.items():
            f, lim, inc, idle = (row[run][key] for run in RUNS)
            lines.append(
                f"| {label} | {f['wall_s']} | {f['cpu_s']} | {f['peak_rss_gib']} "
                f"| {lim['wall_s']} | {_ratio(f['wall_s'], lim['wall_s'])} "
                f"| {inc['wall_s']} | {inc['cpu_s']} | {inc['peak_rss_gib']} "
                f"| {idle['wall_s']} |"
            )
        t = row["totals"]
        lines.append(
            f"| **total** | **{t['full']['wall_s']}** | {t['full']['cpu_s']} "
            f"| {t['full']['peak_rss_gib']} | **{t['limit']['wall_s']}** "
            f"| **{_ratio(t['full']['wall_s'], t['limit']['wall_s'])}** "
            f"| **{t['incremental']['wall_s']}** | {t['incremental']['cpu_s']} "
            f"| {t['incremental']['peak_rss_gib']} | **{t['idle']['wall_s']}** |"
        )
        lines.append("")
        peer = row["peer"]
        if "dbt" in peer:
            lines.append(
                f"PostgreSQL peer: raw layer copied in {peer['load_raw']['wall_s']} s; "
                f"`dbt build --target postgres` {peer['dbt']['wall_s']} s against DuckDB's "
                f"{row['full']['dbt']['wall_s']} s: **{row['targets']['postgres_vs_duckdb']}×**. "
                f"Engine time alone (dbt's per-node execution times, summed): PostgreSQL "
                f"{peer['dbt']['node_seconds']['all']} s, DuckDB "
                f"{row['full']['dbt']['node_seconds']['all']} s: "
                f"**{row['targets']['postgres_vs_duckdb_node_seconds']}×**."
            )
        else:
            lines.append(f"PostgreSQL peer skipped: {peer['skipped']}.")
        k = row["limit_kpis"]
        lines.append(
            f"The limit reproduced {k['equal_rows']} of the pipeline's {k['pipeline_rows']} "
            "`marts.kpi_values` rows exactly."
        )
        tg = row["targets"]
        met = {True: "met", False: "**missed**"}
        lines += [
            "",
            f"Targets: full refresh / limit {tg['full_vs_limit']}× (≤ 2: "
            f"{met[tg['met']['full_vs_limit']]}); incremental / full "
            f"{tg['incremental_share']:.1%} (≤ 3 %: {met[tg['met']['incremental_share']]}; "
            f"with no change at the sources {tg['idle_share']:.1%}); "
            + (
                f"PostgreSQL / DuckDB {tg['postgres_vs_duckdb']}× (≥ 3: "
                f"{met[tg['met']['postgres_vs_duckdb']]}); "
                if "postgres_vs_duckdb" in tg
                else ""
            )
            + f"peak RSS {tg['peak_rss_gib']} GiB (≤ 4: {met[tg['met']['peak_rss']]}).",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1])
    parser.add_argument("--quick", action="store_true", help=f"SF {QUICK_SCALE} only")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--peer-database", default="unionwh_bench_peer")
    parser.add_argument("--no-peer", action="store_true", help="skip the PostgreSQL peer")
    args = parser.parse_args(argv)
    scales = [QUICK_SCALE] if args.quick else sorted(args.scale)
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "targets": TARGETS,
        "rows": [],
    }
    name = "run-quick" if args.quick else "run"
    args.out.mkdir(parents=True, exist_ok=True)
    peer_db = None if args.no_peer else args.peer_database
    for scale in scales:
        try:
            result["rows"].append(bench_scale(scale, args.seed, peer_db, args.out))
        except StageFailed as exc:
            print(f"SF{scale:g}: {exc}", flush=True)
            raise
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps({"scale": scale, **result["rows"][-1]["targets"]}), flush=True)
    text = markdown(result)
    (args.out / f"{name}.md").write_text(text + "\n")
    print(text)
    return 0
