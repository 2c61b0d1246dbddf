"""Command line: `python -m simulator generate|advance|serve`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from simulator import api_server
from simulator.generate import advance, generate
from simulator.shapes import SHAPES, parse_shapes
from simulator.truth import city_year


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Plays the federation's membership, dispute and service systems.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate the three source systems from scratch")
    gen.add_argument("--scale", type=float, default=0.01, help="scale factor (1 = the report year)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--out", type=Path, default=Path("data/demo"))
    gen.add_argument(
        "--db-url",
        default=None,
        help="SQLAlchemy URL of the membership DB (default: SQLite in --out)",
    )
    gen.add_argument("--no-bad-input", action="store_true", help="plant no bad input")
    gen.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a world unlike the demo (repeat or comma-separate to combine): {', '.join(SHAPES)}",
    )
    gen.add_argument("--quiet", action="store_true")

    adv = sub.add_parser("advance", help="add N more days of activity to existing sources")
    adv.add_argument("--days", type=int, default=1)
    adv.add_argument("--out", type=Path, default=Path("data/demo"))
    adv.add_argument("--quiet", action="store_true")

    asof = sub.add_parser("as-of", help="print the date the generated sources are current to")
    asof.add_argument("--out", type=Path, default=Path("data/demo"))

    srv = sub.add_parser("serve", help="serve the dispute export over HTTP (loopback)")
    api_server.add_arguments(srv)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return api_server.run_from_args(args)
    if args.command == "as-of":
        print(json.loads((args.out / "manifest.json").read_text("utf-8"))["as_of"])
        return 0
    if args.command == "generate":
        try:
            chosen = parse_shapes(args.shape)
        except ValueError as error:
            build_parser().error(str(error))
        result = generate(
            args.out,
            args.scale,
            args.seed,
            args.db_url,
            plant=not args.no_bad_input,
            quiet=args.quiet,
            shape=chosen,
        )
    else:
        result = advance(args.out, args.days, quiet=args.quiet)
    summary = {
        "as_of": result["state"]["as_of"],
        "planted": result["planted"],
        "kpis_2024": city_year(
            json.loads((args.out / "expected_kpis.json").read_text("utf-8")), 2024
        ),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0
