"""Command line: ``python -m ingestion load [--source ...]``, ``rebuild --from raw|sources``
and ``spark-raw``.

``load``: for benchmarks and for operators who need one load by hand; the data team's way is
the Dagster UI (the same functions run there). ``rebuild``: recovery of a lost or broken
warehouse file, from the raw directory's load manifests (``--from raw``) or by loading every
source again into a new raw layer (``--from sources``); what it replaces is moved aside, never
deleted. A full materialization then rebuilds the models (``make rebuild-from-raw``,
``make rebuild-from-sources``). ``spark-raw``: register the committed raw layer in the local
Spark catalog (``UNIONWH_SPARK_DIR``) for ``dbt build --target spark``; a Dagster run with
``UNIONWH_ENGINE=spark`` does it itself. Configured by the ``UNIONWH_*`` variables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from core.settings import ENV_RAW_DIR, PipelineSettings
from ingestion.raw_store import EntityResult, RawStore

SOURCES = ("membership", "disputes", "services")


def _loaders(settings: PipelineSettings) -> dict[str, Callable[[RawStore], list[EntityResult]]]:
    """Each source's load. A source's package is imported when its load runs: a load of one
    source in its own process (the benchmark's, an operator's) then imports none of the
    others' clients, a third of a second of a day's load (py-spy, SF1)."""

    def loader(name: str) -> Callable[[RawStore], list[EntityResult]]:
        def run(store: RawStore) -> list[EntityResult]:
            package = importlib.import_module(f"ingestion.{name}")
            return package.load(package.config_from(settings), store)

        return run

    return {name: loader(name) for name in SOURCES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("load", help="load sources into the raw layer")
    run.add_argument("--source", choices=[*SOURCES, "all"], default="all")
    rebuild = sub.add_parser("rebuild", help="recreate a lost or broken warehouse file")
    rebuild.add_argument("--from", dest="origin", choices=["raw", "sources"], required=True)
    sub.add_parser("spark-raw", help="register the raw layer in the local Spark catalog")
    args = parser.parse_args(argv)

    settings = PipelineSettings.from_env()
    raw_dir = os.environ.get(ENV_RAW_DIR) or None
    store = RawStore(settings.warehouse_path, Path(raw_dir) if raw_dir else None)
    if args.command == "spark-raw":
        from ingestion.spark_catalog import register

        spark_dir = settings.spark_dir
        rows = register(store, spark_dir)
        print(json.dumps({"spark_dir": str(spark_dir), "rows": rows}), flush=True)
        return 0
    if args.command == "rebuild":
        moved = _move_aside(store, raw_too=args.origin == "sources")
        for old, new in moved:
            print(json.dumps({"moved_aside": str(old), "to": str(new)}), flush=True)
        if args.origin == "raw":
            print(json.dumps({"restored_loads": store.restore_from_raw()}), flush=True)
            return 0
    _load(store, settings, "all" if args.command == "rebuild" else args.source)
    return 0


def _move_aside(store: RawStore, *, raw_too: bool) -> list[tuple[Path, Path]]:
    """Rename the warehouse file and its WAL to ``<stem>.replaced-<UTC time>.duckdb[.wal]``
    (with ``raw_too`` the raw directory too), so a rebuild starts empty and nothing is lost."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    warehouse = store.warehouse_path
    aside = warehouse.with_name(f"{warehouse.stem}.replaced-{stamp}{warehouse.suffix}")
    pairs = [(warehouse, aside), (Path(f"{warehouse}.wal"), Path(f"{aside}.wal"))]
    if raw_too:
        pairs.append(
            (store.raw_dir, store.raw_dir.with_name(f"{store.raw_dir.name}.replaced-{stamp}"))
        )
    moved = []
    for path, target in pairs:
        if path.exists():
            path.rename(target)
            moved.append((path, target))
    return moved


def _load(store: RawStore, settings: PipelineSettings, source: str) -> None:
    loaders = _loaders(settings)
    names = list(loaders) if source == "all" else [source]
    for name in names:
        start = time.perf_counter()
        results = loaders[name](store)
        summary = {
            "source": name,
            "seconds": round(time.perf_counter() - start, 2),
            "entities": {
                r.entity: {k: v for k, v in asdict(r).items() if k.startswith("rows_")}
                for r in results
            },
        }
        print(json.dumps(summary, ensure_ascii=False), flush=True)
