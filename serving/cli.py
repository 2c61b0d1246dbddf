"""``python -m serving``: publish, list versions, roll back, cut district files.

python -m serving versions
python -m serving rollback [--to VERSION]
python -m serving districts [--district 110105 ...] [--out data/districts]
python -m serving publish [--whole]  # what the serving/warehouse asset does
python -m serving docs [--port 8080]  # serve the dbt docs the last run published
python -m serving sql [--warehouse FILE] [-c SQL]  # SQL on the warehouse (or any DuckDB file)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from serving import sql_shell
from serving.dashboard import write_dashboard
from serving.dbt_docs import docs_dir, serve_docs
from serving.districts import publish_districts
from serving.publish import (
    PublicationBlocked,
    compact_copy,
    current_version,
    list_versions,
    publish,
    rollback,
)

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_SERVING = "data/serving.duckdb"


def _path(variable: str, default: str) -> Path:
    return Path(os.environ.get(variable) or default)


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--serving", type=Path, default=_path("UNIONWH_SERVING_PATH", DEFAULT_SERVING)
    )
    warehouse = argparse.ArgumentParser(add_help=False)
    warehouse.add_argument(
        "--warehouse", type=Path, default=_path("UNIONWH_WAREHOUSE_PATH", DEFAULT_WAREHOUSE)
    )
    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser(
        "publish",
        parents=[common, warehouse],
        help="publish the marts (refused while the latest run of an ERROR check failed)",
    )
    pub.add_argument(
        "--whole", action="store_true", help="write every table, not only the changed ones"
    )
    sub.add_parser("versions", parents=[common], help="list the kept versions, newest first")
    back = sub.add_parser("rollback", parents=[common], help="serve a kept version again")
    back.add_argument("--to", help="version to restore (default: the one before the current)")
    dis = sub.add_parser("districts", parents=[common], help="write per-district serving files")
    dis.add_argument("--district", action="append", help="district code (repeatable)")
    dis.add_argument("--out", type=Path, default=Path("data/districts"))
    board = sub.add_parser("dashboard", parents=[common], help="write the HTML dashboard")
    board.add_argument("--out", type=Path, default=Path("data/dashboard.html"))
    board.add_argument("--year", type=int, help="report year (default: the last complete one)")
    small = sub.add_parser("compact", parents=[common], help="copy with small storage blocks")
    small.add_argument("--to", type=Path, required=True)
    docs = sub.add_parser(
        "docs", parents=[warehouse], help="serve the dbt docs published beside the warehouse"
    )
    docs.add_argument("--host", default="127.0.0.1")
    docs.add_argument("--port", type=int, default=8080)
    sql = sub.add_parser(
        "sql",
        parents=[warehouse],
        help="SQL on the warehouse, read-only: -c SQL, SQL on stdin, or an interactive prompt",
        description="A SQL shell on the pipeline's DuckDB: opens the warehouse (which the "
        "DuckDB CLI in .venv cannot), the serving file or any DuckDB file (--warehouse FILE).",
    )
    sql.add_argument("-c", dest="sql", metavar="SQL", help="run these statements and exit")
    sql.add_argument("--write", action="store_true", help="open read-write (default: read-only)")
    sql.add_argument(
        "--wait",
        type=float,
        default=sql_shell.DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for a writer's lock (default: %(default)g)",
    )
    sql.add_argument(
        "--max-rows",
        type=int,
        default=sql_shell.DEFAULT_MAX_ROWS,
        help="rows printed per result, 0 for all (default: %(default)d)",
    )
    args = parser.parse_args(argv)

    if args.command == "sql":
        return sql_shell.main(
            args.warehouse, args.sql, write=args.write, wait=args.wait, max_rows=args.max_rows
        )

    if args.command == "docs":
        try:
            serve_docs(docs_dir(args.warehouse), args.host, args.port)
        except FileNotFoundError as exc:
            print(exc)
            return 1
        return 0

    if args.command == "publish":
        try:
            done = publish(args.warehouse, args.serving, whole=args.whole)
        except PublicationBlocked as blocked:
            print(blocked)
            return 1
        print(
            f"published {done.version}: {len(done.tables)} tables to {done.path} "
            f"({len(done.rewritten)} written anew, {len(done.patched)} patched, "
            f"{len(done.keyed)} caught up by the keys dbt changed)"
        )
    elif args.command == "versions":
        current = current_version(args.serving)
        for version in list_versions(args.serving):
            print(f"{version}{'  (serving)' if version == current else ''}")
    elif args.command == "dashboard":
        print(f"wrote {write_dashboard(args.serving, args.out, args.year)}")
    elif args.command == "compact":
        print(f"{args.to}: {compact_copy(args.serving, args.to):,} bytes")
    elif args.command == "rollback":
        print(f"serving {rollback(args.serving, args.to)}")
    else:
        for district, tables in publish_districts(args.serving, args.out, args.district).items():
            rows = sum(tables.values())
            print(f"{district}: {rows} rows in {len(tables)} tables -> {args.out}")
    return 0
