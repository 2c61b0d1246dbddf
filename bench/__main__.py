"""``python -m bench run ...``: the benchmark of issue "Step 6" (see ``bench/run.py``).

The per-component benchmarks stay runnable on their own: ``python -m bench.generate``,
``bench.ingest``, ``bench.warehouse``, ``bench.quality``, ``bench.serving``.
"""

from __future__ import annotations

import sys

from bench import run


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "run":
        print("usage: python -m bench run [--scale SF ...] [--quick] (see bench/run.py)")
        return 2
    return run.main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
