"""Contract validation of one batch, vectorised in polars.

Every loader hands over its records as a frame of text columns named like the contract (a
database row cast to text, a CSV row, a flattened JSON record). ``validate`` parses each
column to its contract type and decides, per record, the first contract rule it breaks.
Rejected records leave the batch with their rule and column; the rest are typed and loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from ingestion.contract import EARLIEST_DATE, Column, Entity, codes

REJECT_RULE = "_reject_rule"
REJECT_COLUMN = "_reject_column"
REJECT_VALUE = "_reject_value"
# Enough of an offending value to see what went wrong; never taken from a PII column.
_VALUE_CHARS = 60

# The order rules are reported in when one record breaks several: structure before content.
RULE_ORDER = (
    "missing_required",
    "wrong_type",
    "unknown_code",
    "future_date",
    "date_before_1949",
    "negative_money",
    "person_times_lt_1",
    "out_of_range",
)

_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")
BEIJING = "Asia/Shanghai"
_EARLIEST = dt.date.fromisoformat(EARLIEST_DATE)


class ContractViolation(Exception):
    """A whole input breaks the contract (missing required column, wrong format): stop."""


def require_columns(present: list[str], entity: Entity, where: str) -> None:
    """Raise ``ContractViolation`` naming ``where`` and the first required column missing."""
    missing = [c.name for c in entity.columns if c.required and c.name not in present]
    if missing:
        raise ContractViolation(
            f"{where}: required column {missing[0]!r} of {entity.source}.{entity.name} is "
            f"missing (missing: {', '.join(missing)})"
        )


def parse(column: Column) -> pl.Expr:
    """The text column parsed to its contract type; null where it does not parse."""
    text = pl.col(column.name).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    match column.kind:
        case "str" | "code":
            return text
        case "int":
            return text.cast(pl.Int64, strict=False)
        case "money":
            return text.cast(pl.Decimal(18, 2), strict=False)
        case "float":
            return text.cast(pl.Float64, strict=False)
        case "date":
            return text.str.to_date("%Y-%m-%d", strict=False)
        case "timestamp":
            return text.str.replace("T", " ", literal=True).str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"
            )
        case "timestamptz":
            # Stored as naive Beijing time, like the SQL sources, whatever offset was sent.
            return (
                text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_unit="us")
                .dt.convert_time_zone(BEIJING)
                .dt.replace_time_zone(None)
            )
        case "bool":
            lowered = text.str.to_lowercase()
            return (
                pl.when(lowered.is_in(_TRUE))
                .then(True)
                .when(lowered.is_in(_FALSE))
                .then(False)
                .otherwise(None)
            )
    raise ValueError(f"unknown column kind {column.kind!r}")


def _typed_name(column: Column) -> str:
    return f"__typed__{column.name}"


def _checks(column: Column, load_date: dt.date) -> list[tuple[str, pl.Expr]]:
    raw = pl.col(column.name).str.strip_chars()
    blank = raw.is_null() | (raw == "")
    typed = pl.col(_typed_name(column))  # parsed once, before any check
    out: list[tuple[str, pl.Expr]] = []
    if column.required:
        out.append(("missing_required", blank))
    out.append(("wrong_type", ~blank & typed.is_null()))
    if column.domain is not None:
        legal = pl.Series(sorted(codes(column.domain)), dtype=pl.String)
        as_text = typed.cast(pl.String)
        out.append(("unknown_code", typed.is_not_null() & ~as_text.is_in(legal.implode())))
    if column.kind in ("date", "timestamp", "timestamptz"):
        day = typed if column.kind == "date" else typed.dt.date()
        if column.event_date:
            out.append(("future_date", day > pl.lit(load_date)))
        out.append(("date_before_1949", day < pl.lit(_EARLIEST)))
    if column.kind == "money":
        out.append(("negative_money", typed < 0))
    if column.min_value is not None:
        rule = "person_times_lt_1" if column.name == "person_times" else "out_of_range"
        out.append((rule, typed < column.min_value))
    if column.max_value is not None:
        out.append(("out_of_range", typed > column.max_value))
    return out


@dataclass(frozen=True, slots=True)
class Validated:
    """A batch split by the contract: typed accepted rows and rejected rows with their rule."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame


def validate(
    frame: pl.DataFrame,
    entity: Entity,
    load_date: dt.date,
    extra_checks: list[tuple[str, str, pl.Expr]] | None = None,
) -> Validated:
    """Type ``frame``'s contract columns and split off the records that break a rule.

    ``frame`` holds text columns named like the contract (absent optional ones are treated
    as null) plus any bookkeeping columns (prefixed ``_``), which are carried through.
    ``extra_checks`` are (rule, column, expr) for rules outside the column specs, such as
    nested JSON parts. Both outputs keep every column; ``rejected`` adds the rule, the
    column and the offending value.
    """
    missing = [c.name for c in entity.columns if c.name not in frame.columns]
    if missing:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name) for name in missing)
    in_frame = set(frame.columns)
    checks: list[tuple[str, str, pl.Expr]] = [
        (rule, column.name, expr)
        for column in entity.columns
        if not column.pii
        for rule, expr in _checks(column, load_date)
    ]
    checks += extra_checks or []
    checks.sort(key=lambda check: RULE_ORDER.index(check[0]) if check[0] in RULE_ORDER else 99)

    rule_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    column_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    value_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    pii = {c.name for c in entity.columns if c.pii}
    for rule, name, expr in reversed(checks):
        hit = expr.fill_null(False)
        rule_expr = pl.when(hit).then(pl.lit(rule)).otherwise(rule_expr)
        column_expr = pl.when(hit).then(pl.lit(name)).otherwise(column_expr)
        value = (
            pl.col(name).cast(pl.String).str.slice(0, _VALUE_CHARS)
            if name in in_frame and name not in pii
            else pl.lit(None, dtype=pl.String)
        )
        value_expr = pl.when(hit).then(value).otherwise(value_expr)

    checked = [column for column in entity.columns if not column.pii]
    judged = frame.with_columns(parse(c).alias(_typed_name(c)) for c in checked).with_columns(
        rule_expr.alias(REJECT_RULE),
        column_expr.alias(REJECT_COLUMN),
        value_expr.alias(REJECT_VALUE),
    )
    typed = judged.with_columns(pl.col(_typed_name(c)).alias(c.name) for c in checked).drop(
        _typed_name(c) for c in checked
    )
    rejected = typed.filter(pl.col(REJECT_RULE).is_not_null())
    accepted = typed.filter(pl.col(REJECT_RULE).is_null()).drop(
        REJECT_RULE, REJECT_COLUMN, REJECT_VALUE
    )
    return Validated(accepted=accepted, rejected=rejected)
