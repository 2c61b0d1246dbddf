"""Dispute records (cases, hotline requests): decoded JSON in, validated PII-free frames out.

Both transports (export files and API pages) hand their records here one at a time, so the
rules are the same whichever way a record came. A record is split as it is read:

- scalar fields, and the fields of the flat objects (``employer``, ``caller``), become text
  columns named like the contract and go through ``ingestion.validation.validate``;
- the lists of a case (``claim_types``, ``events``, ``claimants``) are exploded into long
  frames, checked there in polars, and only the first problem of each list reaches the
  validation frame, as a text column named after the list (its offending value) plus the
  rule, which ``validate`` weighs with every other rule of the record;
- claimant names are never read; ID numbers and phones live only in the exploded claimant
  frame and are replaced by pseudonyms before anything leaves this module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from ingestion.batches import latest_per_key, rejected_records, uscc_flags, with_flags
from ingestion.contract import (
    CASE,
    EARLIEST_DATE,
    HOTLINE_REQUEST,
    Column,
    Entity,
    codes,
    opt,
)
from ingestion.pii import protect_identity, record_digest
from ingestion.raw_store import BOOKKEEPING
from ingestion.validation import RULE_ORDER, parse, validate

CURSOR = "updated_at"
MALFORMED = "malformed_json"
# Where a lone surrogate can come from in UTF-8 JSON text: a \uD800-\uDFFF escape.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_EARLIEST = dt.date.fromisoformat(EARLIEST_DATE)

# What replaces an object or array found where the contract wants a scalar: it is reported
# as the offending value (never the content itself, which may hold personal data).
_PLACEHOLDER = {dict: "<object>", list: "<array>"}

CLAIMANT_FIELDS = ("member_id", "id_number", "phone", "employment_form", "new_form_type")
# ``name`` is known (it is dropped unread), so it is not reported as schema drift.
_CLAIMANT_KNOWN = frozenset((*CLAIMANT_FIELDS, "name"))
_EVENT_FIELDS = frozenset(("type", "at"))
_EVENT_AT = Column("at", "timestamptz")

CLAIMANT_STRUCT = pl.Struct(
    {
        "member_id": pl.String,
        "id_number_hmac": pl.String,
        "id_valid": pl.Boolean,
        "id_birth_date": pl.Date,
        "id_gender": pl.String,
        "phone_hmac": pl.String,
        "phone_valid": pl.Boolean,
        "employment_form": pl.String,
        "new_form_type": pl.String,
    }
)
EVENT_STRUCT = pl.Struct({"type": pl.String, "at": pl.Datetime("us")})


@dataclass(frozen=True)
class RecordShape:
    """How one entity's JSON records map onto the contract.

    ``checked`` is the entity validation runs against: the contract entity plus the columns
    flattened out of objects that the contract leaves to this module (the employer).
    ``objects`` maps an object field to {its field: flat column}; ``lists`` are the list
    fields handled here.
    """

    entity: Entity
    checked: Entity
    objects: dict[str, dict[str, str]]
    lists: tuple[str, ...] = ()

    @property
    def flattened(self) -> tuple[str, ...]:
        """The flat columns taken out of objects, in object-field order."""
        return tuple(c for fields in self.objects.values() for c in fields.values())

    @property
    def scalars(self) -> tuple[str, ...]:
        """Contract columns read directly from a top-level field."""
        return tuple(c for c in self.checked.column_names if c not in self.flattened)

    @property
    def known(self) -> frozenset[str]:
        return frozenset((*self.scalars, *self.objects, *self.lists))

    @property
    def nested(self) -> tuple[str, ...]:
        """Fields whose problems are found here rather than by the column specs."""
        return (*self.objects, *self.lists)


CASE_SHAPE = RecordShape(
    entity=CASE,
    checked=dataclasses.replace(
        CASE,
        columns=(
            *CASE.columns,
            opt("employer_uscc"),
            opt("employer_name"),
            opt("employer_industry_code", "code", domain="industries"),
        ),
    ),
    objects={
        "employer": {
            "uscc": "employer_uscc",
            "name": "employer_name",
            "industry_code": "employer_industry_code",
        }
    },
    lists=("claim_types", "events", "claimants"),
)
HOTLINE_SHAPE = RecordShape(
    entity=HOTLINE_REQUEST,
    checked=HOTLINE_REQUEST,
    objects={"caller": {"member_id": "caller_member_id", "phone": "caller_phone"}},
)
SHAPES = {CASE.name: CASE_SHAPE, HOTLINE_REQUEST.name: HOTLINE_SHAPE}


def unicode_text(value: object) -> bool:
    """False when a decoded JSON value holds a lone surrogate: a \\uD800-\\uDFFF escape
    without its pair is valid JSON syntax but no Unicode text (RFC 8259, 8.2), which polars
    and Parquet cannot hold. Only worth asking where ``SURROGATE_ESCAPE`` matched."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_text(value: object) -> str | None:
    """The validation text convention: JSON true/false -> "true"/"false", numbers -> str(n)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Checked:
    """One entity's records after validation, deduplication and pseudonymisation."""

    rows: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    duplicates: int
    malformed: int
    schema_drift: dict[str, list[str]]
    latest: dt.datetime | None


class RecordCollector:
    """Accumulates the records of one entity, then checks them all at once (``finish``)."""

    def __init__(self, shape: RecordShape, pii_key: bytes) -> None:
        self.shape = shape
        self._key = pii_key
        self._scalars = shape.scalars
        self._known = shape.known
        self._text: dict[str, list[str | None]] = {c: [] for c in shape.checked.column_names}
        self._nonscalar: list[list[str] | None] = []
        self._files: list[str | None] = []
        self._lines: list[int] = []
        # (row, field, rule, offending value, position in the list)
        self._problems: list[tuple[int, str, str, str | None, int]] = []
        self._claim_types: dict[str, list[Any]] = {"_row": [], "pos": [], "code": []}
        self._events: dict[str, list[Any]] = {"_row": [], "pos": [], "type": [], "at": []}
        self._claimants: dict[str, list[Any]] = {
            "_row": [],
            "pos": [],
            **{f: [] for f in CLAIMANT_FIELDS},
        }
        self._malformed: list[tuple[str | None, int, str]] = []
        self._drift: dict[str, set[str]] = {}
        self.rows_read = 0

    # -- reading ---------------------------------------------------------------------------

    def add(self, record: object, file: str | None, line: int, raw: str, where: str) -> None:
        """One decoded record (``record``: anything ``json.loads`` returned).

        ``raw`` is the record's text; it only feeds a keyed digest when the record is
        malformed (so that two different broken lines are two findings). ``where`` names
        the file or endpoint in the schema-drift report.
        """
        self.rows_read += 1
        if not isinstance(record, dict):
            digest = record_digest(f"{file or ''}\n{raw}", self._key)
            self._malformed.append((file, line, digest))
            return
        row = len(self._files)
        self._files.append(file)
        self._lines.append(line)
        nonscalar: list[str] = []
        text = self._text
        for name in self._scalars:
            value = record.get(name)
            # Most values are already text or null: the hot path of a full load skips calls.
            if value is None or type(value) is str:
                text[name].append(value)
            elif isinstance(value, dict | list):
                nonscalar.append(name)
                text[name].append(_PLACEHOLDER[type(value)])
            else:
                text[name].append(as_text(value))
        drift = [k for k in record if k not in self._known]
        for name, fields in self.shape.objects.items():
            drift += self._read_object(row, name, fields, record.get(name), nonscalar)
        if self.shape.lists:
            self._read_claim_types(row, record.get("claim_types"))
            drift += self._read_events(row, record.get("events"))
            drift += self._read_claimants(row, record.get("claimants"))
        self._nonscalar.append(nonscalar or None)
        if drift:
            self._drift.setdefault(where, set()).update(drift)

    def _problem(self, row: int, field: str, rule: str, value: str | None, pos: int = 0) -> None:
        self._problems.append((row, field, rule, value, pos))

    def _read_object(
        self, row: int, name: str, fields: dict[str, str], value: object, nonscalar: list[str]
    ) -> list[str]:
        obj: dict[str, Any] = value if isinstance(value, dict) else {}
        if value is not None and not isinstance(value, dict):
            self._problem(row, name, "wrong_type", _kind(value))
        for field, column in fields.items():
            item = obj.get(field)
            if isinstance(item, dict | list):
                nonscalar.append(column)
                self._text[column].append(_PLACEHOLDER[type(item)])
            else:
                self._text[column].append(as_text(item))
        return [f"{name}.{k}" for k in obj if k not in fields]

    def _read_list(self, row: int, name: str, value: object) -> list[Any]:
        if value is None:
            self._problem(row, name, "missing_required", None)
            return []
        if not isinstance(value, list):
            self._problem(row, name, "wrong_type", _kind(value))
            return []
        return value

    def _read_claim_types(self, row: int, value: object) -> None:
        items = self._read_list(row, "claim_types", value)
        if isinstance(value, list) and not value:
            # The contract wants one or more; an empty list names no known claim type.
            self._problem(row, "claim_types", "unknown_code", "[]")
        out = self._claim_types
        for pos, item in enumerate(items):
            if isinstance(item, dict | list):
                self._problem(row, "claim_types", "wrong_type", _kind(item), pos)
                continue
            out["_row"].append(row)
            out["pos"].append(pos)
            out["code"].append(as_text(item))

    def _read_events(self, row: int, value: object) -> list[str]:
        drift: list[str] = []
        out = self._events
        for pos, item in enumerate(self._read_list(row, "events", value)):
            if not isinstance(item, dict):
                self._problem(row, "events", "wrong_type", _kind(item), pos)
                continue
            kind, at = item.get("type"), item.get("at")
            if isinstance(kind, dict | list) or isinstance(at, dict | list):
                self._problem(row, "events", "wrong_type", "<object>", pos)
                continue
            out["_row"].append(row)
            out["pos"].append(pos)
            out["type"].append(as_text(kind))
            out["at"].append(as_text(at))
            drift += [f"events.{k}" for k in item if k not in _EVENT_FIELDS]
        return drift

    def _read_claimants(self, row: int, value: object) -> list[str]:
        drift: list[str] = []
        out = self._claimants
        for pos, item in enumerate(self._read_list(row, "claimants", value)):
            if not isinstance(item, dict):
                self._problem(row, "claimants", "wrong_type", _kind(item), pos)
                continue
            fields = [item.get(f) for f in CLAIMANT_FIELDS]
            if any(isinstance(v, dict | list) for v in fields):
                self._problem(row, "claimants", "wrong_type", "<object>", pos)
                continue
            out["_row"].append(row)
            out["pos"].append(pos)
            for name, v in zip(CLAIMANT_FIELDS, fields, strict=True):
                out[name].append(v if v is None or type(v) is str else as_text(v))
            drift += [f"claimants.{k}" for k in item if k not in _CLAIMANT_KNOWN]
        return drift

    # -- checking --------------------------------------------------------------------------

    def finish(self, load_date: dt.date, now: dt.datetime) -> Checked:
        """Validate, deduplicate by key, pseudonymise and flag everything collected."""
        shape = self.shape
        entity = shape.checked
        frame = pl.DataFrame(
            {
                **self._text,
                "_row": pl.int_range(len(self._files), dtype=pl.Int64, eager=True),
                "_source_file": self._files,
                "_source_line": self._lines,
                "_nonscalar": self._nonscalar,
            },
            schema={
                **dict.fromkeys(self._text, pl.String),
                "_row": pl.Int64,
                "_source_file": pl.String,
                "_source_line": pl.Int64,
                "_nonscalar": pl.List(pl.String),
            },
        )
        lists = self._list_frames() if shape.lists else None
        key = pl.col(entity.key).str.strip_chars()
        frame = frame.with_columns(pl.when(key != "").then(key).alias("_record_key")).join(
            self._nested_problems(lists, load_date), on="_row", how="left"
        )
        checks = [
            ("wrong_type", c, pl.col("_nonscalar").list.contains(c)) for c in entity.column_names
        ]
        checks += [
            (rule, field, pl.col(f"_rule_{field}") == rule)
            for field in shape.nested
            for rule in RULE_ORDER
        ]
        checked = validate(frame, entity, load_date, checks)

        rows, duplicates = latest_per_key(checked.accepted, CURSOR)
        rows = self._finish_rows(rows, lists)
        rejected = self._rejected(rejected_records(checked))
        seen = pl.concat([checked.accepted.select(CURSOR), checked.rejected.select(CURSOR)])
        # A cursor from the future (a rejected record, or a skewed clock) must not carry the
        # watermark past records that have not been written yet.
        latest = seen.filter(pl.col(CURSOR) <= now).select(pl.col(CURSOR).max()).item()
        return Checked(
            rows=rows,
            rejected=rejected,
            rows_read=self.rows_read,
            duplicates=duplicates,
            malformed=len(self._malformed),
            schema_drift={where: sorted(fields) for where, fields in sorted(self._drift.items())},
            latest=latest,
        )

    def _nested_problems(self, lists: _Lists | None, load_date: dt.date) -> pl.DataFrame:
        """Per row, the first problem of each nested field: ``<field>`` (the offending value,
        never personal data) and ``_rule_<field>``."""
        schema = {
            "_row": pl.Int64,
            "field": pl.String,
            "rule": pl.String,
            "value": pl.String,
            "pos": pl.Int64,
        }
        parts = [pl.DataFrame(self._problems, schema=schema, orient="row")]
        if lists is not None:
            parts += [
                _claim_type_problems(lists.claim_types),
                _event_problems(lists.events, load_date),
                _claimant_problems(lists.claimants),
            ]
        rank = pl.col("rule").replace_strict(
            {rule: i for i, rule in enumerate(RULE_ORDER)}, default=len(RULE_ORDER)
        )
        first = (
            pl.concat([p.select(pl.col(c).cast(t) for c, t in schema.items()) for p in parts])
            .sort(rank, "pos")
            .unique(subset=["_row", "field"], keep="first", maintain_order=True)
        )
        out = pl.DataFrame(schema={"_row": pl.Int64})
        for field in self.shape.nested:
            part = first.filter(pl.col("field") == field).select(
                "_row", pl.col("value").alias(field), pl.col("rule").alias(f"_rule_{field}")
            )
            out = out.join(part, on="_row", how="full", coalesce=True)
        return out

    def _list_frames(self) -> _Lists:
        """The case lists, one row per element, text trimmed as ``validate`` trims scalars."""
        ids = {"_row": pl.Int64, "pos": pl.Int64}
        claim_types = pl.DataFrame(self._claim_types, schema={**ids, "code": pl.String})
        events = pl.DataFrame(self._events, schema={**ids, "type": pl.String, "at": pl.String})
        claimants = pl.DataFrame(
            self._claimants, schema={**ids, **dict.fromkeys(CLAIMANT_FIELDS, pl.String)}
        )
        return _Lists(
            claim_types=claim_types.with_columns(_clean("code")),
            events=events.with_columns(_clean("type"), _clean("at")).with_columns(
                parse(_EVENT_AT).alias("at_parsed")
            ),
            claimants=claimants.with_columns(
                _clean(c) for c in ("member_id", "employment_form", "new_form_type")
            ),
        )

    # -- output ----------------------------------------------------------------------------

    def _finish_rows(self, rows: pl.DataFrame, lists: _Lists | None) -> pl.DataFrame:
        """Accepted, deduplicated rows: nested lists rebuilt, PII replaced, flags raised."""
        entity = self.shape.entity
        # The nested fields' problem columns are all null here; the lists take their names.
        rows = rows.drop(*self.shape.nested)
        if self.shape is HOTLINE_SHAPE:
            rows = protect_identity(rows, self._key, id_number=None, phone="caller_phone")
            rows = rows.rename(
                {"phone_hmac": "caller_phone_hmac", "phone_valid": "caller_phone_valid"}
            )
            rows = with_flags(rows, [("invalid_phone", pl.col("caller_phone_valid") == False)])  # noqa: E712
            extra = ["caller_phone_hmac", "caller_phone_valid"]
        else:
            assert lists is not None
            rows = self._with_lists(rows, lists)
            rows = with_flags(
                rows,
                [
                    *uscc_flags("employer_uscc"),
                    ("invalid_id_check", pl.col("_bad_id")),
                    ("invalid_phone", pl.col("_bad_phone")),
                ],
            )
            extra = [*self.shape.flattened, *self.shape.lists]
        contract = [c.name for c in entity.columns if not c.pii]
        return rows.select(*contract, *extra, *BOOKKEEPING)

    def _with_lists(self, rows: pl.DataFrame, lists: _Lists) -> pl.DataFrame:
        """Join each kept case's claim types, events and pseudonymised claimants."""
        kept = rows.select("_row")
        claim_types = (
            lists.claim_types.join(kept, on="_row", how="semi")
            .sort("_row", "pos")
            .group_by("_row", maintain_order=True)
            .agg(pl.col("code").alias("claim_types"))
        )
        events = (
            lists.events.join(kept, on="_row", how="semi")
            .sort("_row", "pos")
            .group_by("_row", maintain_order=True)
            .agg(pl.struct(pl.col("type"), pl.col("at_parsed").alias("at")).alias("events"))
        )
        people = protect_identity(
            lists.claimants.join(kept, on="_row", how="semi"),
            self._key,
            id_number="id_number",
            phone="phone",
        )
        claimants = (
            people.sort("_row", "pos")
            .group_by("_row", maintain_order=True)
            .agg(
                pl.struct(*CLAIMANT_STRUCT.to_schema()).alias("claimants"),
                (pl.col("id_valid") == False).any().alias("_bad_id"),  # noqa: E712
                (pl.col("phone_valid") == False).any().alias("_bad_phone"),  # noqa: E712
            )
        )
        for part in (claim_types, events, claimants):
            rows = rows.join(part, on="_row", how="left")
        return rows.with_columns(
            pl.col("claim_types").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("events").fill_null(pl.lit([], dtype=pl.List(EVENT_STRUCT))),
            pl.col("claimants").fill_null(pl.lit([], dtype=pl.List(CLAIMANT_STRUCT))),
            pl.col("_bad_id").fill_null(False),
            pl.col("_bad_phone").fill_null(False),
        )

    def _rejected(self, rejected: pl.DataFrame) -> pl.DataFrame:
        """Rejected records in ``RawStore`` shape, personal data removed, plus malformed lines.

        Besides the bookkeeping and the finding, only the validated text columns stay: they
        feed the store's keyed digest that recognises a finding seen before.
        """
        checked = self.shape.checked
        texts = [c.name for c in checked.columns if not c.pii] + list(self.shape.nested)
        out = rejected.select(
            "_record_key", "_source_file", "_source_line", "rule", "column_name", "value", *texts
        )
        if not self._malformed:
            return out
        malformed = pl.DataFrame(
            self._malformed,
            schema={"_source_file": pl.String, "_source_line": pl.Int64, "line_digest": pl.String},
            orient="row",
        ).with_columns(
            pl.lit(None, dtype=pl.String).alias("_record_key"),
            pl.lit(MALFORMED).alias("rule"),
            pl.lit(None, dtype=pl.String).alias("column_name"),
            pl.lit(None, dtype=pl.String).alias("value"),
        )
        return pl.concat([out, malformed], how="diagonal_relaxed")


@dataclass(frozen=True)
class _Lists:
    """A batch's case lists, exploded: one row per element, with ``_row`` and ``pos``."""

    claim_types: pl.DataFrame
    events: pl.DataFrame
    claimants: pl.DataFrame


def _finding(frame: pl.DataFrame, field: str, rule: str, value: pl.Expr) -> pl.DataFrame:
    return frame.select(
        "_row",
        pl.lit(field).alias("field"),
        pl.lit(rule).alias("rule"),
        value.alias("value"),
        "pos",
    )


def _claim_type_problems(claim_types: pl.DataFrame) -> pl.DataFrame:
    code = pl.col("code")
    unknown = claim_types.filter(code.is_null() | ~code.is_in(_legal("claim_type")))
    return _finding(unknown, "claim_types", "unknown_code", code)


def _event_problems(events: pl.DataFrame, load_date: dt.date) -> pl.DataFrame:
    kind, at, day = pl.col("type"), pl.col("at"), pl.col("at_parsed").dt.date()
    checks = [
        ("missing_required", kind.is_null(), kind),
        ("missing_required", at.is_null(), at),
        ("wrong_type", at.is_not_null() & day.is_null(), at),
        ("unknown_code", ~kind.is_in(_legal("case_event_type")), kind),
        ("future_date", day > pl.lit(load_date), at),
        ("date_before_1949", day < pl.lit(_EARLIEST), at),
    ]
    return pl.concat(
        _finding(events.filter(hit.fill_null(False)), "events", rule, value)
        for rule, hit, value in checks
    )


def _claimant_problems(claimants: pl.DataFrame) -> pl.DataFrame:
    # Codes are checked when given; the contract does not say a claimant must have them.
    return pl.concat(
        _finding(
            claimants.filter(pl.col(field).is_not_null() & ~pl.col(field).is_in(_legal(field))),
            "claimants",
            "unknown_code",
            pl.col(field),
        )
        for field in ("employment_form", "new_form_type")
    )


def _kind(value: object) -> str:
    return _PLACEHOLDER.get(type(value), f"<{type(value).__name__}>")


def _clean(column: str) -> pl.Expr:
    """Trimmed text, empty as null: the same reading ``validate`` gives scalar columns."""
    text = pl.col(column).str.strip_chars()
    return pl.when(text != "").then(text).alias(column)


def _legal(domain: str) -> list[str]:
    # A plain list: ``is_in`` with a String Series on a String column is deprecated.
    return sorted(codes(domain))
