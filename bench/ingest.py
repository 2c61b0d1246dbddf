"""Benchmark of ingestion: a full load, an identical second load, and the incremental load
after the simulator advances one day, per scale factor, each load in a fresh process.

    .venv/bin/python -m bench.ingest --scale 0.1 1

Sources are generated once per scale into bench/out/sources-sf<scale>/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
from collections.abc import Callable
from pathlib import Path

from bench.measure import measure, python_module

OUT = Path("bench/out")


def _run(args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """Run ``python -m <args>`` and measure that one process."""
    return measure(python_module(args), env)


def sources(scale: float, seed: int) -> Path:
    path = OUT / f"sources-sf{scale:g}"
    manifest = path / "manifest.json"
    fresh = manifest.exists() and json.loads(manifest.read_text())["as_of"] == "2024-12-31"
    if not fresh:
        shutil.rmtree(path, ignore_errors=True)
        _run(["simulator", "generate", "--scale", str(scale), "--seed", str(seed),
              "--out", str(path), "--quiet"])  # fmt: skip
    return path


def bench_scale(scale: float, seed: int) -> dict[str, object]:
    src = sources(scale, seed)
    work = OUT / f"ingest-sf{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(src, work / "sources")
    env = {
        **os.environ,
        "UNIONWH_MEMBERSHIP_DB_URL": f"sqlite:///{(work / 'sources' / 'membership.db').resolve()}",
        "UNIONWH_DISPUTES_EXPORT_DIR": str(work / "sources" / "disputes"),
        "UNIONWH_SERVICES_LANDING_DIR": str(work / "sources" / "landing"),
        "UNIONWH_WAREHOUSE_PATH": str(work / "warehouse.duckdb"),
        "UNIONWH_PII_KEY": "bench-key",
    }
    row: dict[str, object] = {"scale": scale}
    row["full"] = _run(["ingestion", "load"], env)
    row["repeat"] = _run(["ingestion", "load"], env)
    _run(["simulator", "advance", "--days", "1", "--out", str(work / "sources"), "--quiet"])
    row["incremental"] = _run(["ingestion", "load"], env)
    raw = work / "warehouse_raw"
    row["raw_mib"] = round(sum(p.stat().st_size for p in raw.rglob("*") if p.is_file()) / 2**20, 1)
    shutil.rmtree(work, ignore_errors=True)
    return row


def run_scales(
    doc: str | None,
    json_name: str,
    bench: Callable[[float, int], dict[str, object]],
    argv: list[str] | None,
) -> list[dict[str, object]]:
    """The shared command line of the benchmarks: ``--scale``, ``--seed``, ``--json``; runs
    ``bench`` per scale, writes the JSON with the machine and prints the machine."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=OUT / json_name)
    args = parser.parse_args(argv)
    rows = [bench(scale, args.seed) for scale in sorted(args.scale)]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    print(f"machine: {machine}")
    return rows


def main(argv: list[str] | None = None) -> int:
    rows = run_scales(__doc__, "ingest.json", bench_scale, argv)
    print("| scale | full load s | peak RSS GiB | repeat s | incremental s | raw MiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        full, rep, inc = r["full"], r["repeat"], r["incremental"]
        cells = (r["scale"], full["wall_s"], full["peak_rss_gib"], rep["wall_s"], inc["wall_s"],
                 r["raw_mib"])  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
