"""Benchmark of the simulator: wall time, CPU time and peak RSS of `generate` (and one
`advance` day) per scale factor, each in a fresh process.

    .venv/bin/python -m bench.generate --scale 0.1 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(args: list[str]) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "simulator", *args, "--quiet"], check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        # ru_maxrss of children is the largest child so far: each run is measured in order,
        # so a later, smaller run would repeat the figure; scales are run smallest first.
        "peak_rss_gib": round(after.ru_maxrss / 1024**2, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=Path("bench/out/generate.json"))
    args = parser.parse_args(argv)
    rows = []
    for scale in sorted(args.scale):
        with tempfile.TemporaryDirectory(prefix="unionwh-bench-") as tmp:
            out = Path(tmp)
            gen = measure(
                ["generate", "--scale", str(scale), "--seed", str(args.seed), "--out", str(out)]
            )
            adv = measure(["advance", "--days", "1", "--out", str(out)])
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1024**3
        rows.append(
            {"scale": scale, "generate": gen, "advance_1_day": adv, "output_gib": round(size, 2)}
        )
        print(json.dumps(rows[-1]), flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    print(f"\nmachine: {machine}")
    print("| scale | generate wall s | CPU s | peak RSS GiB | advance 1 day s | output GiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        g, a = r["generate"], r["advance_1_day"]
        cells = (
            r["scale"],
            g["wall_s"],
            g["cpu_s"],
            g["peak_rss_gib"],
            a["wall_s"],
            r["output_gib"],
        )
        print("| " + " | ".join(str(c) for c in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
