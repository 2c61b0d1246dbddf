"""Command line: ``python -m ingestion load [--source ...]``, outside Dagster.

For benchmarks and for operators who need one load by hand; the data team's way is the
Dagster UI (the same functions run there). Configured by the ``UNIONWH_*`` variables.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ingestion import disputes, membership, services
from ingestion.raw_store import EntityResult, RawStore
from orchestration.settings import ENV_RAW_DIR, PipelineSettings


def _loaders(settings: PipelineSettings) -> dict[str, Callable[[RawStore], list[EntityResult]]]:
    key = settings.pii_key_bytes
    return {
        "membership": lambda store: membership.load(
            membership.MembershipLoad(settings.membership_db_url, key), store
        ),
        "disputes": lambda store: disputes.load(
            disputes.DisputesLoad(
                export_dir=settings.disputes_export_dir,
                api_url=settings.disputes_api_url,
                api_token=settings.disputes_api_token,
                pii_key=key,
            ),
            store,
        ),
        "services": lambda store: services.load(
            services.ServicesLoad(settings.services_landing_dir, key), store
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("load", help="load sources into the raw layer")
    run.add_argument(
        "--source", choices=["membership", "disputes", "services", "all"], default="all"
    )
    args = parser.parse_args(argv)

    settings = PipelineSettings.from_env()
    raw_dir = os.environ.get(ENV_RAW_DIR) or None
    store = RawStore(settings.warehouse_path, Path(raw_dir) if raw_dir else None)
    loaders = _loaders(settings)
    names = list(loaders) if args.source == "all" else [args.source]
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
    return 0
