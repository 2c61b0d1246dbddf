"""Hostile input, fuzzed: property-based tests of the three file-based inputs.

Each example builds valid records from the source contract (``SOURCES.md``), damages a
hypothesis-chosen subset in a hypothesis-chosen way (truncated rows, wrong types, stray quotes
and delimiters, mixed encodings, huge fields, unknown columns, duplicate keys, future dates)
and keeps its own expected outcome per record: kept (possibly with quality flags) or
rejected under a rule. The real loader then runs into a fresh warehouse, and the outcome must
match exactly: no unhandled exception; a ``ContractViolation`` naming the file only for a
whole-file break (after which the file is removed and the load must then succeed); every
rejected record in ``quarantine.records`` with its file, line, rule, column and key; every
kept record as the live version of its key in ``raw.<entity>_current``; and no planted
personal data in the warehouse, its Parquet files or the load's log.

Expected outcomes come from the contract, never from the loader's helpers. For a deeper search
than the default: ``HOSTILE_EXAMPLES=200 HOSTILE_SHRINK=0 pytest -s tests/test_hostile_input.py``
(``-s`` prints what was tried and quarantined, per input kind).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import logging.handlers
import os
import reprlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import xlsxwriter
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pii_scan import Pii, scan_tree

from ingestion import disputes, services
from ingestion.raw_store import EntityResult, RawStore
from ingestion.validation import ContractViolation
from simulator.identifiers import (
    GIVEN_CHARS,
    SURNAMES,
    corrupt_check_char,
    mobile_numbers,
    person_names,
    resident_id_numbers,
    uscc_codes,
)
from simulator.writers import DELIVERY_COLUMNS  # the contract's order, as the source writes it

settings.register_profile(
    "hostile",
    deadline=None,  # one example is a whole load into DuckDB: ~0.5-1.5 s
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "14")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # Each shrink step is a whole load too: HOSTILE_SHRINK=0 for long searches.
    phases=[p for p in Phase if os.environ.get("HOSTILE_SHRINK") != "0" or p != Phase.shrink],
)
HOSTILE = settings.get_profile("hostile")

KEY = b"hostile-input-test-key-0123456789"
NOW = dt.datetime(2025, 6, 30, 12, 0)
TODAY = NOW.date()
END_OF_TODAY = dt.datetime.combine(TODAY, dt.time(23, 59, 59))
EARLIEST = dt.datetime(1949, 10, 1)
BEIJING = ZoneInfo("Asia/Shanghai")
# A RAM disk where there is one: DuckDB's fsyncs are most of a small load's time.
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None

# What one run tried and found, per input kind; printed at the end of the module (-s).
FIGURES: Counter[tuple[str, str]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_figures() -> Iterator[None]:
    yield
    for kind in sorted({k for k, _ in FIGURES}):
        found = {name: n for (k, name), n in sorted(FIGURES.items()) if k == kind}
        print(f"\nhostile {kind}: {found}")


# --- expected outcomes and the check every kind shares ------------------------------------

UNCHECKED = object()  # a kept value that cannot be predicted (text decoded as another encoding)


@dataclass(frozen=True)
class Kept:
    """A record the loader must keep; among versions of a key the greatest (rank, file,
    line) is the live one."""

    key: str
    rank: tuple[Any, ...] = ()
    flags: frozenset[str] = frozenset()
    value: Any = UNCHECKED


@dataclass(frozen=True)
class Rejected:
    rule: str
    column: str | None
    key: str | None


Outcome = Kept | Rejected | None  # None: no record (a blank line or row)


@dataclass
class Scenario:
    """Files to drop and what loading them must do."""

    kind: str
    files: dict[str, bytes] = field(default_factory=dict)
    kept: dict[str, list[tuple[Kept, str, int]]] = field(default_factory=dict)
    rejected: dict[str, list[tuple[str, int, str, str | None, str | None]]] = field(
        default_factory=dict
    )
    read: Counter[str] = field(default_factory=Counter)
    pii: Pii = field(default_factory=Pii)
    broken: tuple[str, str] | None = None  # (file, text the message also names)
    garbled: set[str] = field(default_factory=set)
    drift: dict[str, set[str]] = field(default_factory=dict)  # entity -> files with new columns
    damages: Counter[str] = field(default_factory=Counter)

    def record(
        self, entity: str, file: str, outcomes: list[tuple[int, Outcome]], live: bool = True
    ) -> None:
        """The outcomes of a file the successful load reads (``live``: its kept records
        count; a superseded revision's are read but not current)."""
        for line, outcome in outcomes:
            if isinstance(outcome, Kept) and live:
                self.kept.setdefault(entity, []).append((outcome, file, line))
            elif isinstance(outcome, Rejected):
                row = (file, line, outcome.rule, outcome.column, outcome.key)
                self.rejected.setdefault(entity, []).append(row)
            self.read[entity] += outcome is not None

    def __repr__(self) -> str:
        # Huge fields would make hypothesis print megabytes for a failing example.
        short = reprlib.Repr()
        short.maxstring = short.maxother = 300
        short.maxlevel, short.maxdict, short.maxlist = 5, 40, 60
        return (
            "Scenario("
            + ", ".join(
                f"{name}={short.repr(getattr(self, name))}"
                for name in ("kind", "files", "broken", "garbled", "kept", "rejected", "damages")
            )
            + ")"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis prints dataclasses field by field otherwise

    def plant(self, *values: str) -> None:
        """Personal data written into the sources: it must never reach the warehouse."""
        for v in values:
            (self.pii.numbers if v[:1].isdigit() else self.pii.names).add(v.upper())

    def break_file(self, file: str, named: str = "") -> None:
        assert self.broken is None, "one whole-file break per example"
        self.broken = (file, named)

    def live(self, entity: str) -> dict[str, tuple[str, int, frozenset[str], Any]]:
        best: dict[str, tuple[tuple[Any, ...], Kept]] = {}
        for kept, file, line in self.kept.get(entity, []):
            order = (kept.rank, file, line)
            if kept.key not in best or order > best[kept.key][0]:
                best[kept.key] = (order, kept)
        return {
            key: (file, line, kept.flags, UNCHECKED if file in self.garbled else kept.value)
            for key, ((_, file, line), kept) in best.items()
        }

    def quarantine(self, entity: str) -> Counter[tuple[str, int, str, str | None, str | None]]:
        return Counter(self.rejected.get(entity, []))


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hostile-", dir=SCRATCH) as folder:
        yield Path(folder)


@contextmanager
def ingestion_log() -> Iterator[logging.handlers.BufferingHandler]:
    logger = logging.getLogger("ingestion")
    handler = logging.handlers.BufferingHandler(capacity=1_000_000)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


Loader = Callable[[Path, RawStore], list[EntityResult]]


def load_services(src: Path, store: RawStore) -> list[EntityResult]:
    return services.load(services.ServicesLoad(str(src), KEY), store, now=NOW)


def load_disputes(src: Path, store: RawStore) -> list[EntityResult]:
    return disputes.load(disputes.DisputesLoad(src, None, None, KEY), store, now=NOW)


def live_rows(store: RawStore, entity: str, value: str) -> dict[str, tuple[Any, ...]]:
    if not store.has_view("raw", f"{entity}_current"):
        return {}  # no load has kept a row of it yet
    rows = store.query(
        f"select _record_key, _source_file, _source_line, _quality_flags, {value} "
        f"from raw.{entity}_current where not _is_deleted"
    ).rows()
    return {k: (f, n, frozenset(flags), v) for k, f, n, flags, v in rows}


def run_scenario(sc: Scenario, load: Loader, values: dict[str, str]) -> dict[str, EntityResult]:
    """Load ``sc`` into a fresh warehouse and check every expected outcome exactly."""
    with scratch() as base:
        src = base / "src"
        for name, data in sc.files.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(data)
        store = RawStore(base / "wh" / "warehouse.duckdb")
        with ingestion_log() as log:
            if sc.broken is not None:
                file, named = sc.broken
                with pytest.raises(ContractViolation) as caught:
                    load(src, store)
                message = str(caught.value)
                assert file in message and named in message, message
                assert not sc.pii.hits_in_text(message)
                assert store.query("select count(*) from meta.loads").item() == 0
                assert not list(store.raw_dir.rglob("*.parquet")), "a stopped load wrote data"
                FIGURES[(sc.kind, "whole-file stops")] += 1
                (src / file).unlink()  # the operator removes the broken file and reloads
            results = {r.entity: r for r in load(src, store)}
        for entity, value in values.items():
            expected = sc.live(entity)
            found = live_rows(store, entity, value)
            for key, row in expected.items():
                if row[3] is UNCHECKED and key in found:
                    found[key] = (*found[key][:3], UNCHECKED)
            assert found == expected, entity
            bad = store.query(
                "select file, line, rule, column_name, record_key from quarantine.records "
                "where entity = ?",
                [entity],
            ).rows()
            assert Counter(bad) == sc.quarantine(entity), entity
            rules = Counter(r[2] for r in sc.quarantine(entity).elements())
            assert results[entity].quarantined_by_rule == dict(rules), entity
            assert results[entity].rows_read == sc.read[entity], entity
            # every row read is loaded, quarantined or reconciled (load_balance)
            assert results[entity].unaccounted == 0, (entity, results[entity])
            for rule, n in rules.items():
                FIGURES[(sc.kind, f"quarantined {rule}")] += n
            FIGURES[(sc.kind, "records kept")] += len(expected)
        FIGURES[(sc.kind, "examples")] += 1
        FIGURES.update({(sc.kind, f"damage {d}"): n for d, n in sc.damages.items()})
        if sc.pii.numbers or sc.pii.names:
            assert scan_tree(base / "wh", sc.pii) == {}
            text = "\n".join(log.format(r) for r in log.buffer)
            assert not sc.pii.hits_in_text(text)
        return results


# --- generators shared by the kinds ----------------------------------------------------------


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


def ident(prefix: str, n: int) -> st.SearchStrategy[str]:
    return digits(n).map(lambda d: prefix + d)


def cjk(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        min_size=min_size,
        max_size=max_size,
    )


PHONES = st.tuples(st.sampled_from("3456789"), digits(9)).map(lambda t: "1" + "".join(t))
NAMES = st.tuples(st.sampled_from(SURNAMES), st.text(GIVEN_CHARS, min_size=1, max_size=2)).map(
    "".join
)
MOMENTS = st.datetimes(EARLIEST, END_OF_TODAY).map(lambda m: m.replace(microsecond=0))
OLD_MOMENTS = st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(1949, 9, 29, 23, 59, 59)).map(
    lambda m: m.replace(microsecond=0)
)
FUTURE_MOMENTS = st.one_of(
    # Still today in UTC, already tomorrow in Beijing: the offset decides.
    st.datetimes(END_OF_TODAY + dt.timedelta(seconds=1), END_OF_TODAY + dt.timedelta(hours=8)),
    st.datetimes(END_OF_TODAY + dt.timedelta(days=1), dt.datetime(2999, 12, 31)),
).map(lambda m: m.replace(microsecond=0))
DISTRICTS = ("110101", "110102", "110105", "110106", "110108", "110111", "110115", "110119")


def contract_decoding(data: bytes) -> tuple[str, str] | None:
    """(encoding, text) of a delivery file per the contract (UTF-8, else GB18030, no NUL)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            return None
        return ("utf-8-sig", text[1:]) if text.startswith("\ufeff") else (encoding, text)
    return None


# --- 1. service deliveries: CSV files, UTF-8 or GB18030 --------------------------------------

BENEFICIARY_GROUPS = ("MEMBER", "NEW_FORM_WORKER", "OUTDOOR_WORKER", "MIGRANT_WORKER",
                      "HARDSHIP_FAMILY", "OTHER")  # fmt: skip
DELIVERY_OPTIONAL = ("member_id", "union_name", "station_id", "remark")
DELIVERY_REQUIRED = tuple(c for c in DELIVERY_COLUMNS[1:] if c not in DELIVERY_OPTIONAL)
DELIVERY_WRONG_TYPES = {
    "delivered_on": ("2024-02-30", "2024/03/01", "20240301", "yesterday", "2024-13-01"),
    "recorded_at": ("2024-03-01", "2024-03-01 25:00:00", "now", "2024-13-01 10:00:00"),
    "person_times": ("two", "1.5", "1e2", "３", "0x10"),
    "benefit_value_yuan": ("abc", "1,000.00", "¥10", "10元", "1.2.3"),
}
DELIVERY_UNKNOWN_CODES = {
    "beneficiary_group": ("VIP", "member", "NEW FORM", "X" * 1000),
    "channel": ("EMAIL", "onsite"),
    "district_code": ("999999", "110000", "1101"),
}
DELIVERY_DAMAGES = (
    *["valid"] * 5, "padded", "huge", "inner_quote", "duplicate", "blank_line", "truncated",
    "extra_field", "stray_delimiter", "open_quote", "continuation", "missing_key",
    "missing_required", "wrong_type", "unknown_code", "future_date", "before_1949",
    "negative_money", "person_times_lt_1",
)  # fmt: skip
DELIVERY_BREAKS = ("missing_column", "duplicate_column", "invalid_bytes", "nul_byte", "mixed")


def stamp_text(moment: dt.datetime) -> str:
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"


def day_text(day: dt.date | dt.datetime) -> str:
    return f"{day.year:04d}-{day:%m-%d}"


@st.composite
def delivery_record(draw: st.DrawFn, key: str, sc: Scenario) -> dict[str, str]:
    remark = draw(
        st.lists(st.sampled_from(["联系人", "请回访", ",", '"', "\n", "\r\n", " "]), max_size=4)
    )
    if draw(st.booleans()):  # the contract: remarks sometimes hold personal data
        person = draw(PHONES | NAMES)
        sc.plant(person)
        remark.append(person)
    cents = draw(st.integers(0, 10**8))
    return {
        "delivery_id": key,
        "program_code": draw(st.sampled_from(("P000001", "P000002", "P999999"))),
        "member_id": draw(st.just("") | ident("M", 10)),
        "beneficiary_group": draw(st.sampled_from(BENEFICIARY_GROUPS)),
        "union_id": draw(ident("U", 8)),
        # Quoted commas, quotes and line breaks are valid CSV and must arrive intact.
        "union_name": draw(cjk(2, 5))
        + draw(st.sampled_from(("", ",", '"', "\n", "，", "A")))
        + "工会",
        "station_id": draw(st.just("") | ident("S", 6)),
        "district_code": draw(st.sampled_from(DISTRICTS)),
        "delivered_on": day_text(draw(MOMENTS)),
        "person_times": str(draw(st.integers(1, 500))),
        "benefit_value_yuan": f"{cents // 100}.{cents % 100:02d}",
        "channel": draw(st.sampled_from(("ONSITE", "APP", "VISIT"))),
        "recorded_at": stamp_text(draw(MOMENTS)),
        "remark": "".join(remark),
        "operator_note": draw(st.sampled_from(("", "ok", "见附件, 第2页"))),  # drift column
    }


def csv_row(cells: list[tuple[str, bool]], eol: str) -> str:
    """One CSV record; a cell flagged raw is written as is, even when it breaks the syntax."""
    if len(cells) == 1 and cells[0] == ("", False):
        return '""' + eol  # one empty field, not a blank line
    out = []
    for value, raw in cells:
        quote = not raw and any(c in value for c in ',"\r\n')
        out.append('"' + value.replace('"', '""') + '"' if quote else value)
    return ",".join(out) + eol


def delivery_kept(rec: dict[str, str], names: list[str]) -> Kept:
    union_name = rec["union_name"].strip() if "union_name" in names else ""
    return Kept(
        key=rec["delivery_id"].strip(),
        rank=(dt.datetime.fromisoformat(rec["recorded_at"].strip()),),
        value=union_name or None,
    )


def delivery_rows(
    draw: st.DrawFn,
    sc: Scenario,
    rec: dict[str, str],
    names: list[str],
    eol: str,
    damage: str,
    last: bool,
) -> list[tuple[str, Outcome]]:
    """The text of one record as damaged, and the outcome of each CSV record it makes."""
    applies = {
        "inner_quote": "union_name" in names,
        "open_quote": last,
        "continuation": names[-1] == "remark",
    }
    damage = damage if applies.get(damage, True) else "valid"
    sc.damages[damage] += 1
    rec = dict(rec)
    key = rec["delivery_id"]
    raw: set[int] = set()
    width = len(names)
    outcome: Outcome = None

    def rejected(rule: str, column: str | None) -> Rejected:
        return Rejected(rule, column, rec["delivery_id"].strip() or None)

    match damage:
        case "padded":
            rec |= {c: f"  {rec[c]} " for c in ("delivery_id", "channel", "person_times")}
        case "huge":
            column = draw(
                st.sampled_from(
                    [c for c in ("union_name", "remark") if c in names] or ["program_code"]
                )
            )
            rec[column] = "长" * draw(st.integers(131_073, 200_000))  # over csv's default limit
        case "inner_quote":
            rec["union_name"] = draw(cjk(1, 3)) + '"' + draw(cjk(1, 3))  # RFC 4180 says quote it
            raw.add(names.index("union_name"))
        case "missing_key":
            rec["delivery_id"] = draw(st.sampled_from(("", "   ")))
            outcome = rejected("missing_required", "delivery_id")
        case "missing_required":
            column = draw(st.sampled_from([c for c in DELIVERY_REQUIRED if c in names]))
            rec[column] = draw(st.sampled_from(("", " ")))
            outcome = rejected("missing_required", column)
        case "wrong_type":
            column = draw(st.sampled_from(sorted(DELIVERY_WRONG_TYPES)))
            rec[column] = draw(st.sampled_from(DELIVERY_WRONG_TYPES[column]))
            outcome = rejected("wrong_type", column)
        case "unknown_code":
            column = draw(st.sampled_from(sorted(DELIVERY_UNKNOWN_CODES)))
            rec[column] = draw(st.sampled_from(DELIVERY_UNKNOWN_CODES[column]))
            outcome = rejected("unknown_code", column)
        case "future_date" | "before_1949":
            column = draw(st.sampled_from(("delivered_on", "recorded_at")))
            moment = draw(FUTURE_MOMENTS if damage == "future_date" else OLD_MOMENTS)
            rec[column] = day_text(moment) if column == "delivered_on" else stamp_text(moment)
            outcome = rejected(
                "future_date" if damage == "future_date" else "date_before_1949", column
            )
        case "negative_money":
            rec["benefit_value_yuan"] = (
                f"-{draw(st.integers(0, 9999))}.{draw(st.integers(1, 99)):02d}"
            )
            outcome = rejected("negative_money", "benefit_value_yuan")
        case "person_times_lt_1":
            rec["person_times"] = str(draw(st.integers(-5, 0)))
            outcome = rejected("person_times_lt_1", "person_times")
    cells = [(rec[n], i in raw) for i, n in enumerate(names)]
    wrong_count = Rejected("wrong_field_count", None, key.strip())
    match damage:
        case "truncated":
            return [(csv_row(cells[: draw(st.integers(1, width - 1))], eol), wrong_count)]
        case "extra_field":
            return [(csv_row([*cells, ("x", False)], eol), wrong_count)]
        case "stray_delimiter":
            cells[draw(st.integers(1, width - 1))] = ("a,b", True)
            return [(csv_row(cells, eol), wrong_count)]
        case "open_quote":
            # An opening quote never closed swallows the rest of the file into one field.
            at = draw(st.integers(1, width - 2))
            cells[at:] = [('"x', True)] + [("x", True)] * (width - at - 1)
            return [(csv_row(cells, eol), wrong_count)]
        case "continuation":
            # An unquoted remark with a line break: its tail (personal data) is a record of
            # its own, with one field, which must not become a quarantine key.
            tail = draw(PHONES | NAMES)
            sc.plant(tail)
            cells[-1] = (draw(cjk(0, 3)) + eol + draw(st.sampled_from(("", "电话"))) + tail, True)
            return [
                (csv_row(cells, eol), delivery_kept(rec, names)),
                ("", Rejected("wrong_field_count", None, None)),
            ]
        case "blank_line":
            return [(eol, None), (csv_row(cells, eol), delivery_kept(rec, names))]
    return [(csv_row(cells, eol), outcome or delivery_kept(rec, names))]


@st.composite
def delivery_scenarios(draw: st.DrawFn) -> Scenario:
    sc = Scenario("delivery CSV")
    groups = draw(
        st.lists(
            st.tuples(st.sampled_from(DISTRICTS), st.integers(1, 28)),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    files = [(f"deliveries/{d}/deliveries-202403{day:02d}", 1) for d, day in groups]
    if draw(st.booleans()):  # a revision replaces every row of its group's earlier file
        files.append((draw(st.sampled_from(files))[0], 2))
    broken = draw(st.none() | st.none() | st.integers(0, len(files) - 1))
    pool: list[dict[str, str]] = []
    by_file: dict[str, list[tuple[int, Outcome]]] = {}
    for i, (group, revision) in enumerate(files):
        path = group + (f"-r{revision}" if revision > 1 else "") + ".csv"
        damage = draw(st.sampled_from(DELIVERY_BREAKS)) if i == broken else None
        by_file[path] = delivery_file(draw, sc, path, pool, damage)
    # Not read: a file still being written, and one outside the layout.
    sc.files["deliveries/110101/deliveries-20240330.csv.part"] = b"delivery_id\nPART1\n"
    sc.files["deliveries/110101/notes.txt"] = b"\xff\xfe not a delivery file"
    # Per group only the highest revision counts; every file's rejects are quarantined.
    top: dict[str, str] = {}
    for path in sorted(p for p in by_file if sc.broken is None or p != sc.broken[0]):
        group = path.removesuffix(".csv").split("-r")[0]
        top[group] = max(top.get(group, path), path, key=lambda p: (len(p), p))
    for path, outcomes in by_file.items():
        if sc.broken is None or path != sc.broken[0]:
            sc.record("delivery", path, outcomes, live=path in top.values())
    return sc


def delivery_file(
    draw: st.DrawFn, sc: Scenario, path: str, pool: list[dict[str, str]], brk: str | None
) -> list[tuple[int, Outcome]]:
    encoding = draw(st.sampled_from(("utf-8", "gb18030")))
    eol = draw(st.sampled_from(("\n", "\r\n")))
    names = [
        c for c in DELIVERY_COLUMNS if c not in draw(st.sets(st.sampled_from(DELIVERY_OPTIONAL)))
    ]
    if draw(st.booleans()):  # the contract's order is not required: columns go by name
        names = names[:1] + draw(st.permutations(names[1:]))
    if draw(st.booleans()):  # schema drift: an unknown column
        names.insert(draw(st.integers(1, len(names))), "operator_note")
    named = ""
    if brk == "missing_column":
        named = draw(st.sampled_from(DELIVERY_REQUIRED))
        names.remove(named)
    elif brk == "duplicate_column":
        named = draw(st.sampled_from(names[1:]))
        names.insert(draw(st.integers(1, len(names))), named)
    rows: list[tuple[str, Outcome]] = []
    n = draw(st.integers(0, 7))
    open_end = draw(st.integers(0, 4)) == 0  # the file ends inside a quote never closed
    for i in range(n):
        damage = (
            "open_quote" if open_end and i == n - 1 else draw(st.sampled_from(DELIVERY_DAMAGES))
        )
        if damage == "duplicate" and not pool:
            damage = "valid"
        if damage == "duplicate":  # a resend, or a changed version of a delivery
            rec = dict(draw(st.sampled_from(pool)))
            if draw(st.booleans()):
                rec["recorded_at"] = stamp_text(draw(MOMENTS))
                rec["person_times"] = str(draw(st.integers(1, 500)))
        else:
            rec = draw(delivery_record(f"D{len(pool) + 1:06d}", sc))
            pool.append(rec)
        rows += delivery_rows(draw, sc, rec, names, eol, damage, last=i == n - 1)
    padding = draw(st.sampled_from(("", " ")))
    pieces = [",".join(padding + n + padding for n in names) + eol, *(t for t, _ in rows)]
    intended = "".join(pieces)
    other = {"utf-8": "gb18030", "gb18030": "utf-8"}[encoding]
    mixed = draw(st.integers(1, len(pieces) - 1)) if brk == "mixed" and len(pieces) > 1 else -1
    data = b"".join(p.encode(other if i == mixed else encoding) for i, p in enumerate(pieces))
    if brk in ("invalid_bytes", "nul_byte"):
        at = len(pieces[0].encode(encoding))
        data = data[:at] + (b"\xff" if brk == "invalid_bytes" else b"\x00") + data[at:]
    elif encoding == "utf-8" and brk is None and draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # the contract says no BOM; one is tolerated
    sc.files[path] = data
    decoded = contract_decoding(data)
    if brk in ("missing_column", "duplicate_column") or decoded is None:
        sc.break_file(path, named)
    elif decoded[1] != intended:
        sc.garbled.add(path)  # mixed bytes that still decode: the other text reads as mojibake
    if "operator_note" in names and sc.broken != (path, named):
        sc.drift.setdefault("delivery", set()).add(path)
    # Records are numbered as the source system numbers them: header 1, a blank line counts.
    return [(number, outcome) for number, (_, outcome) in enumerate(rows, start=2)]


@HOSTILE
@given(delivery_scenarios())
def test_hostile_delivery_csv_files(sc: Scenario) -> None:
    results = run_scenario(sc, load_services, {"delivery": "union_name"})
    report = results["delivery"].report
    counted = [p for p in sc.files if p.endswith(".csv") and (not sc.broken or p != sc.broken[0])]
    expected = Counter(contract_decoding(sc.files[p])[0] for p in counted)  # type: ignore[index]
    assert report["encodings"] == dict(sorted(expected.items()))
    assert report["partial_files_ignored"] == ["deliveries/110101/deliveries-20240330.csv.part"]
    assert report["unrecognised_files"] == ["deliveries/110101/notes.txt"]
    assert set(report.get("schema_drift", {})) == sc.drift.get("delivery", set())


# --- 2. dispute export: JSON lines, cases and hotline requests ---------------------------------

ID_FIELD = {"case": "case_id", "hotline_request": "request_id"}
CASE_REQUIRED = ("case_no", "received_at", "source_channel", "district_code", "is_collective",
                 "status", "updated_at", "claim_types")  # fmt: skip
HOTLINE_REQUIRED = ("received_at", "channel", "category", "topic", "handling", "complexity",
                    "due_at", "status", "updated_at")  # fmt: skip
CLAIM_TYPES = ("LABOUR_RELATIONSHIP", "WAGE_ARREARS", "OVERTIME_PAY", "ECONOMIC_COMPENSATION",
               "UNLAWFUL_DISMISSAL", "NO_WRITTEN_CONTRACT", "SOCIAL_INSURANCE", "WORK_INJURY",
               "HOURS_AND_LEAVE", "CONTRACT_CHANGE", "NON_COMPETE", "OTHER")  # fmt: skip
EVENT_TYPES = ("RECEIVED", "MEDIATION_STARTED", "MEDIATION_SUCCEEDED", "MEDIATION_FAILED",
               "LEGAL_AID_GRANTED", "ARBITRATION_FILED", "ARBITRATION_ACCEPTED", "AWARD_ISSUED",
               "LITIGATION_FILED", "JUDGMENT", "WITHDRAWN", "CLOSED")  # fmt: skip
SOURCE_CHANNELS = ("HOTLINE_REFERRAL", "WALK_IN", "ONLINE", "PRE_ARBITRATION", "COURT_REFERRAL",
                   "ENTERPRISE_COMMITTEE")  # fmt: skip
CASE_STATUSES = ("RECEIVED", "MEDIATING", "MEDIATION_FAILED", "ARBITRATION", "LITIGATION",
                 "CLOSED")  # fmt: skip
CASE_OUTCOMES = ("MEDIATED", "ARBITRATION_AWARD", "JUDGMENT", "WITHDRAWN", "REFERRED")
HOTLINE_CATEGORIES = ("CONSULT", "SERVICE", "COMPLAINT", "LEGAL_AID", "SUGGESTION")
HOTLINE_TOPICS = ("WAGES", "CONTRACT", "SOCIAL_INSURANCE", "WORK_INJURY", "MEMBERSHIP",
                  "MUTUAL_AID", "HARDSHIP", "PSYCH", "PLATFORM_RULES", "OTHER")  # fmt: skip
MALFORMED = Rejected("malformed_json", None, None)
ValueMaker = Callable[[dict[str, Any]], object]
# (rejected column, field changed, its new value) per rule
CASE_BAD: dict[str, tuple[tuple[str, str, ValueMaker], ...]] = {
    "wrong_type": (
        ("case_no", "case_no", lambda r: {"x": 1}),
        ("case_no", "case_no", lambda r: [1]),
        ("received_at", "received_at", lambda r: "2024-03-05"),
        ("received_at", "received_at", lambda r: "yesterday"),
        ("received_at", "received_at", lambda r: 20240305),
        ("received_at", "received_at", lambda r: r["received_at"][:19]),  # no UTC offset
        ("is_collective", "is_collective", lambda r: "maybe"),
        ("is_collective", "is_collective", lambda r: {}),
        ("claim_amount", "claim_amount", lambda r: "12,345.00"),
        ("claim_amount", "claim_amount", lambda r: True),
        ("updated_at", "updated_at", lambda r: "2024-06-31T10:00:00+08:00"),
        ("claimants", "claimants", lambda r: "not a list"),
        ("claim_types", "claim_types", lambda r: "WAGE_ARREARS"),
        ("employer", "employer", lambda r: "ACME"),
        ("events", "events", lambda r: {"type": "RECEIVED"}),
        ("events", "events", lambda r: [*r["events"], "CLOSED"]),
        ("events", "events", lambda r: [dict(r["events"][0], at="yesterday")]),
    ),
    "unknown_code": (
        ("source_channel", "source_channel", lambda r: "FAX"),
        ("district_code", "district_code", lambda r: "999999"),
        ("status", "status", lambda r: "closed"),
        ("outcome", "outcome", lambda r: "WON"),
        ("claim_types", "claim_types", lambda r: [*r["claim_types"], "BONUS"]),
        ("claim_types", "claim_types", lambda r: []),  # the contract wants one or more
        ("events", "events", lambda r: [*r["events"], {"type": "APPEAL", "at": r["updated_at"]}]),
        ("claimants", "claimants", lambda r: [dict(r["claimants"][0], employment_form="GIG")]),
        ("employer_industry_code", "employer",
         lambda r: {**(r["employer"] or {"name": "某公司"}), "industry_code": "0000"}),
    ),
    "negative_money": (
        ("claim_amount", "claim_amount", lambda r: "-0.01"),
        ("recovered_amount", "recovered_amount", lambda r: "-9800.00"),
    ),
}  # fmt: skip
HOTLINE_BAD: dict[str, tuple[tuple[str, str, ValueMaker], ...]] = {
    "wrong_type": (
        ("satisfaction", "satisfaction", lambda r: "five"),
        ("satisfaction", "satisfaction", lambda r: 2.5),
        ("satisfaction", "satisfaction", lambda r: True),
        ("received_at", "received_at", lambda r: r["received_at"].replace("T", " ")),
        ("due_at", "due_at", lambda r: "next week"),
        ("caller", "caller", lambda r: r["caller"]["phone"] or "13912345678"),  # PII, no object
        ("channel", "channel", lambda r: {"a": 1}),
        ("updated_at", "updated_at", lambda r: 1719800000),
    ),
    "unknown_code": (
        ("channel", "channel", lambda r: "FAX"),
        ("category", "category", lambda r: "PRAISE"),
        ("topic", "topic", lambda r: "FOOD"),
        ("handling", "handling", lambda r: "IGNORED"),
        ("complexity", "complexity", lambda r: "EASY"),
        ("status", "status", lambda r: "DONE"),
        ("district_code", "district_code", lambda r: "110100"),
    ),
    # The contract: satisfaction 1..5 (the marts test exactly these values).
    "out_of_range": (
        ("satisfaction", "satisfaction", lambda r: 0),
        ("satisfaction", "satisfaction", lambda r: 6),
        ("satisfaction", "satisfaction", lambda r: 99),
    ),
}  # fmt: skip
DISPUTE_DAMAGES = (
    *["valid"] * 5, "padded", "huge", "unknown_field", "odd_text", "duplicate", "flag_phone",
    "truncated", "not_object", "stray_quote", "two_on_a_line", "pretty_printed",
    "lone_surrogate", "deep", "missing_key", "missing_required", "wrong_type", "unknown_code",
    "future_date", "before_1949",
)  # fmt: skip
CASE_DAMAGES = (*DISPUTE_DAMAGES, "flag_id", "flag_uscc", "negative_money")
HOTLINE_DAMAGES = (*DISPUTE_DAMAGES, "far_due", "out_of_range")
NOT_OBJECTS = ("[1, 2, 3]", "42", '"case"', "null", "true", "[" * 3000 + "]" * 3000)
DISPUTE_BREAKS = ("gb18030_line", "invalid_bytes")


def beijing(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp).astimezone(BEIJING).replace(tzinfo=None)


def json_stamp(draw: st.DrawFn, moment: dt.datetime) -> str:
    """A Beijing wall-clock moment as a JSON timestamp; the contract sends +08:00, but any
    offset names the same instant (and the Beijing date decides future and pre-1949)."""
    hours = draw(st.sampled_from((8, 8, 8, 0, -5, 9, 5.5)))
    aware = moment.replace(tzinfo=BEIJING).astimezone(dt.timezone(dt.timedelta(hours=hours)))
    text = aware.isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


def money(draw: st.DrawFn) -> str | None:
    cents = draw(st.none() | st.integers(0, 10**9))
    return None if cents is None else f"{cents // 100}.{cents % 100:02d}"


@st.composite
def case_record(draw: st.DrawFn, key: str, sc: Scenario) -> dict[str, Any]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 3))
    births = np.array(
        draw(
            st.lists(st.dates(dt.date(1950, 1, 1), dt.date(2005, 12, 31)), min_size=n, max_size=n)
        ),
        dtype="datetime64[D]",
    )
    ids = [
        str(v) for v in resident_id_numbers(rng, np.full(n, 110101), births, rng.random(n) < 0.5)
    ]
    phones = [str(v) for v in mobile_numbers(rng, n)]
    names = [str(v) for v in person_names(rng, n)]
    sc.plant(*ids, *phones, *names)
    forms = draw(
        st.lists(
            st.sampled_from(("STANDARD", "NEW_FORM", "FLEXIBLE", "RETIRED")), min_size=n, max_size=n
        )
    )
    status = draw(st.sampled_from(CASE_STATUSES))
    closed = status == "CLOSED"
    received = draw(MOMENTS)
    employer = {
        "uscc": str(uscc_codes(rng, "91", np.array([110105]))[0]),
        "name": draw(cjk(2, 6)) + "有限公司",
        "industry_code": draw(st.sampled_from(("0111", "1810", "2710", "3670", "5411", "6020"))),
    }
    return {
        "case_id": key,
        "case_no": f"京工调〔{received.year}〕{draw(digits(4))}号",
        "received_at": json_stamp(draw, received),
        "source_channel": draw(st.sampled_from(SOURCE_CHANNELS)),
        "district_code": draw(st.sampled_from(DISTRICTS)),
        "handling_union_id": draw(st.none() | ident("U", 8)),
        "employer": employer if draw(st.booleans()) else None,
        "claimants": [
            {
                "member_id": draw(st.none() | ident("M", 10)),
                "name": names[i],
                "id_number": ids[i],
                "phone": phones[i],
                "employment_form": forms[i],
                "new_form_type": "RIDER" if forms[i] == "NEW_FORM" else None,
            }
            for i in range(n)
        ],
        "is_collective": n > 1,
        "claim_types": draw(
            st.lists(st.sampled_from(CLAIM_TYPES), min_size=1, max_size=3, unique=True)
        ),
        "claim_amount": money(draw),
        "events": [
            {"type": t, "at": json_stamp(draw, draw(MOMENTS))}
            for t in draw(st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=3))
        ],
        "status": status,
        "outcome": draw(st.sampled_from(CASE_OUTCOMES)) if closed else None,
        "recovered_amount": money(draw),
        "legal_aid": draw(st.none() | st.booleans()),
        "closed_at": json_stamp(draw, draw(MOMENTS)) if closed else None,
        "updated_at": json_stamp(draw, draw(MOMENTS)),
    }


@st.composite
def hotline_record(draw: st.DrawFn, key: str, sc: Scenario) -> dict[str, Any]:
    phone = draw(st.none() | PHONES)
    if phone:
        sc.plant(phone)
    status = draw(st.sampled_from(("OPEN", "IN_PROGRESS", "CLOSED")))
    return {
        "request_id": key,
        "received_at": json_stamp(draw, draw(MOMENTS)),
        "channel": draw(st.sampled_from(("PHONE", "APP", "WECHAT", "WEB"))),
        "caller": {"member_id": draw(st.none() | ident("M", 10)), "phone": phone},
        "district_code": draw(st.none() | st.sampled_from(DISTRICTS)),
        "category": draw(st.sampled_from(HOTLINE_CATEGORIES)),
        "topic": draw(st.sampled_from(HOTLINE_TOPICS)),
        "handling": draw(st.sampled_from(("ANSWERED_ON_CALL", "DISPATCHED"))),
        "assigned_union_id": draw(st.none() | ident("U", 8)),
        "complexity": draw(st.sampled_from(("GENERAL", "DIFFICULT", "COMPLEX"))),
        "due_at": json_stamp(draw, draw(MOMENTS)),
        "closed_at": json_stamp(draw, draw(MOMENTS)) if status == "CLOSED" else None,
        "status": status,
        "satisfaction": draw(st.none() | st.integers(1, 5)),
        "linked_case_id": draw(st.none() | ident("C", 10)),
        "updated_at": json_stamp(draw, draw(MOMENTS)),
    }


def dispute_kept(entity: str, rec: dict[str, Any], flags: frozenset[str]) -> Kept:
    value = rec["case_no"].strip() if entity == "case" else rec["satisfaction"]
    return Kept(rec[ID_FIELD[entity]].strip(), (beijing(rec["updated_at"]),), flags, value)


def is_record(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def dispute_lines(
    draw: st.DrawFn, sc: Scenario, entity: str, rec: dict[str, Any], damage: str
) -> list[tuple[str, Outcome]]:
    """The line(s) one record becomes as damaged, and the outcome of each."""
    rec = json.loads(json.dumps(rec))  # a deep copy: pooled records stay intact
    id_field = ID_FIELD[entity]
    text_field = "case_no" if entity == "case" else "assigned_union_id"
    flags: set[str] = set()
    outcome: Outcome = None

    def rejected(rule: str, column: str) -> Rejected:
        key = rec.get(id_field)
        return Rejected(rule, column, key.strip() or None if isinstance(key, str) else None)

    bad = CASE_BAD if entity == "case" else HOTLINE_BAD
    match damage:
        case "padded":
            rec[id_field] = f"  {rec[id_field]} "
        case "huge":
            rec[text_field] = "长" * draw(st.integers(100_000, 300_000))
        case "unknown_field":  # schema drift: loaded, the field reported
            rec["priority"] = draw(st.sampled_from(("HIGH", {"level": 1}, [1, 2])))
        case "odd_text":  # line separators other than \n, NUL and an astral character
            rec[text_field] = "京\u2028工\x85调\u0000😀" + (rec[text_field] or "")
        case "far_due":  # a due date may lie in the future, unlike the dates of events
            rec["due_at"] = json_stamp(draw, dt.datetime(2999, 1, 1))
        case "flag_id":
            rec["claimants"][0]["id_number"] = corrupt_check_char(
                [rec["claimants"][0]["id_number"]]
            )[0]
            flags.add("invalid_id_check")
        case "flag_uscc":
            uscc = str(uscc_codes(np.random.default_rng(0), "91", np.array([110105]))[0])
            rec["employer"] = {"uscc": corrupt_check_char([uscc])[0], "name": "某某公司"}
            flags.add("invalid_uscc_check")
        case "flag_phone":
            person = rec["claimants"][0] if entity == "case" else rec["caller"]
            person["phone"] = draw(digits(7))  # not 11 digits
            flags.add("invalid_phone")
        case "missing_key":
            choice = draw(st.sampled_from(("drop", None, "", "  ")))
            if choice == "drop":
                del rec[id_field]
            else:
                rec[id_field] = choice
            outcome = rejected("missing_required", id_field)
        case "missing_required":
            column = draw(st.sampled_from(CASE_REQUIRED if entity == "case" else HOTLINE_REQUIRED))
            if draw(st.booleans()):
                del rec[column]
            else:
                rec[column] = (
                    None if column == "claim_types" else draw(st.sampled_from((None, "", " ")))
                )
            outcome = rejected("missing_required", column)
        case "wrong_type" | "unknown_code" | "negative_money" | "out_of_range":
            column, changed, value = draw(st.sampled_from(bad[damage]))
            rec[changed] = value(rec)
            if column == "caller":
                sc.plant(str(rec["caller"]))
            outcome = rejected(damage, column)
        case "future_date" | "before_1949":
            columns = ["received_at", "updated_at", "closed_at"]
            columns += (
                ["events"] if entity == "case" else ["due_at"] if damage == "before_1949" else []
            )
            column = draw(st.sampled_from(columns))
            stamp = json_stamp(
                draw, draw(FUTURE_MOMENTS if damage == "future_date" else OLD_MOMENTS)
            )
            if column == "events":
                rec["events"] = [dict(rec["events"][0], at=stamp)]
            else:
                rec[column] = stamp
            outcome = rejected(
                "future_date" if damage == "future_date" else "date_before_1949", column
            )
    text = json.dumps(rec, ensure_ascii=draw(st.booleans()))
    match damage:
        case "truncated":  # a proper prefix of an object is never JSON
            return [(text[: draw(st.integers(1, len(text) - 1))], MALFORMED)]
        case "not_object":
            return [(draw(st.sampled_from(NOT_OBJECTS)), MALFORMED)]
        case "stray_quote":
            at = draw(st.integers(1, len(text) - 1))
            broken = text[:at] + '"' + text[at:]
            return [(broken if not is_record(broken) else '"' + text, MALFORMED)]
        case "two_on_a_line":  # a lost line break: one malformed line, two records lost
            spare = draw((case_record if entity == "case" else hotline_record)("X1", sc))
            return [(text + json.dumps(spare, ensure_ascii=False), MALFORMED)]
        case "pretty_printed":  # one record over many lines: none of them is a record
            lines = json.dumps(rec, indent=1, ensure_ascii=False).split("\n")
            assert not any(is_record(line) for line in lines)
            return [(line, MALFORMED) for line in lines]
        case "lone_surrogate":  # valid JSON syntax, but no Unicode text: malformed
            rec[text_field] = "未配对\ud800代理"
            return [(json.dumps(rec), MALFORMED)]
        case "deep":
            return [(text[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}", MALFORMED)]
    return [(text, outcome or dispute_kept(entity, rec, frozenset(flags)))]


@st.composite
def dispute_scenarios(draw: st.DrawFn) -> Scenario:
    sc = Scenario("dispute JSON lines")
    files = []
    for entity, prefix in (("case", "cases"), ("hotline_request", "hotline")):
        for day in draw(st.lists(st.integers(1, 28), min_size=1, max_size=2, unique=True)):
            gz = ".gz" if draw(st.integers(0, 3)) == 0 else ""
            files.append((entity, f"{prefix}-202406{day:02d}.jsonl{gz}"))
    broken = draw(st.none() | st.none() | st.integers(0, len(files) - 1))
    pools: dict[str, list[dict[str, Any]]] = {"case": [], "hotline_request": []}
    for i, (entity, name) in enumerate(files):
        brk = None
        if i == broken:
            brk = draw(
                st.sampled_from(
                    (*DISPUTE_BREAKS, "broken_gzip") if name.endswith(".gz") else DISPUTE_BREAKS
                )
            )
        dispute_file(draw, sc, entity, name, pools[entity], brk)
    # Not read: a file still being written, and a name outside the export's pattern.
    sc.files["cases-20240630.jsonl.part"] = b'{"case_id": "CPART"}\n'
    sc.files["cases-2024.jsonl"] = b"\xff not an export file\n"
    return sc


def dispute_file(
    draw: st.DrawFn,
    sc: Scenario,
    entity: str,
    name: str,
    pool: list[dict[str, Any]],
    brk: str | None,
) -> None:
    make = case_record if entity == "case" else hotline_record
    lines: list[tuple[str, Outcome]] = []
    drift = False
    for _ in range(draw(st.integers(0, 7))):
        if draw(st.integers(0, 6)) == 0:
            lines.append((draw(st.sampled_from(("", "  ", "\t"))), None))  # blank: no record
        damage = draw(st.sampled_from(CASE_DAMAGES if entity == "case" else HOTLINE_DAMAGES))
        if damage == "duplicate" and pool:  # the same key again: the greatest updated_at wins
            rec = dict(draw(st.sampled_from(pool)), updated_at=json_stamp(draw, draw(MOMENTS)))
        else:
            damage = "valid" if damage == "duplicate" else damage
            rec = draw(make(f"{entity[0].upper()}{len(pool) + 1:06d}", sc))
            pool.append(rec)
        sc.damages[damage] += 1
        drift |= damage == "unknown_field"
        lines += dispute_lines(draw, sc, entity, rec, damage)
    eol = draw(st.sampled_from(("\n", "\r\n")))
    pieces = [text + eol for text, _ in lines]
    if pieces and draw(st.booleans()):
        pieces[-1] = pieces[-1].removesuffix(eol)  # no newline at the end of the file
    encoded = [p.encode("utf-8") for p in pieces]
    at = draw(st.integers(0, len(pieces) - 1)) if brk in DISPUTE_BREAKS and pieces else None
    if at is not None:
        encoded[at] = (
            pieces[at].encode("gb18030") if brk == "gb18030_line" else b"\xff" + encoded[at]
        )
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + b"".join(encoded)
    try:
        garbled = data.decode("utf-8").removeprefix("\ufeff") != "".join(pieces)
    except UnicodeDecodeError:  # the export is UTF-8: the file is not what its name says
        assert at is not None
        sc.break_file(name, f"line {at + 1}")
        garbled = False
    if name.endswith(".gz"):
        data = gzip.compress(data)
        if brk == "broken_gzip":
            data = data[: len(data) // 2]
            sc.break_file(name, "gzip")
    sc.files[name] = data
    if sc.broken is None or sc.broken[0] != name:
        if garbled:
            sc.garbled.add(name)
        if drift:
            sc.drift.setdefault(entity, set()).add(name)
        sc.record(entity, name, [(n, o) for n, (_, o) in enumerate(lines, start=1)])


@HOSTILE
@given(dispute_scenarios())
def test_hostile_dispute_export_files(sc: Scenario) -> None:
    results = run_scenario(
        sc, load_disputes, {"case": "case_no", "hotline_request": "satisfaction"}
    )
    for entity, result in results.items():
        assert set(result.report.get("schema_drift", {})) == sc.drift.get(entity, set())


# --- 3. station visits: monthly xlsx workbooks with Chinese headers ---------------------------

VISIT_HEADERS = {"station_id": "驿站编号", "visit_date": "日期", "visits": "服务人次",
                 "new_form_visits": "其中新就业形态", "reporting_union_id": "填报单位"}  # fmt: skip
VISIT_COLUMNS = tuple(VISIT_HEADERS)
VISIT_WRONG_TYPES: dict[str, tuple[object, ...]] = {
    "visits": ("many", "三", 3.5, True, "1e3", 1e20),
    "new_form_visits": ("some", 2.5),
    # 45444: a day serial without a date format is a number, not a date.
    "visit_date": ("2024/06/01", "2024-06-31", "yesterday", "20240601", 45444),
}
VISIT_DAMAGES = (
    *["valid"] * 5, "padded", "huge_id", "odd_id", "numeric_id", "float_count", "text_count",
    "text_date", "blank_row", "duplicate", "missing_required", "truncated", "wrong_type",
    "future_date", "before_1949", "out_of_range",
)  # fmt: skip
VISIT_BREAKS = ("missing_header", "not_a_workbook", "truncated_workbook", "no_header_row")


def cell_text(value: object) -> str | None:
    """A key cell as the sheet shows it (dates as ISO days), stripped; None for no cell."""
    if value is None:
        return None
    return (value.isoformat() if isinstance(value, dt.date) else str(value)).strip()


@st.composite
def visit_row(draw: st.DrawFn) -> dict[str, Any]:
    visits = draw(st.integers(0, 500))
    return {
        "station_id": draw(ident("S", 6)),
        "visit_date": draw(st.dates(EARLIEST.date(), TODAY)),
        "visits": visits,
        "new_form_visits": draw(st.integers(0, visits)),
        "reporting_union_id": draw(ident("U", 8)),
        "remark": draw(st.sampled_from(("", "正常", "含,逗号"))),  # the drift column
    }


def visit_outcome(
    draw: st.DrawFn, row: dict[str, Any], damage: str, order: list[str]
) -> tuple[dict[str, Any] | None, Outcome]:
    """The row as damaged (None: a blank row) and what loading it must do."""
    row = dict(row)
    rule: str | None = None
    column = ""
    match damage:
        case "blank_row":
            return None, None
        case "padded":
            row |= {
                "station_id": f" {row['station_id']}  ",
                "visit_date": f" {row['visit_date'].isoformat()} ",
            }
        case "huge_id":
            row["station_id"] = "S" + "长" * draw(st.integers(20_000, 32_000))  # xlsx max 32767
        case "odd_id":
            row["station_id"] = 'S"0,1\n' + row["station_id"]
        case "numeric_id":
            row["station_id"] = draw(st.integers(1, 999_999))
        case "float_count":
            row["visits"] = float(row["visits"])  # Excel keeps every number as a double
        case "text_count":
            row["visits"] = str(row["visits"])
        case "text_date":
            row["visit_date"] = row["visit_date"].isoformat()
        case "missing_required":
            rule, column = "missing_required", draw(st.sampled_from(VISIT_COLUMNS))
            row[column] = draw(st.sampled_from((None, "", "  ")))
        case "truncated":  # cells only up to some column of the sheet
            missing = order[draw(st.integers(1, len(order) - 1)) :]
            row |= dict.fromkeys(missing)
            rule, column = "missing_required", min(missing, key=VISIT_COLUMNS.index)
        case "wrong_type":
            column = draw(st.sampled_from(sorted(VISIT_WRONG_TYPES)))
            rule, row[column] = "wrong_type", draw(st.sampled_from(VISIT_WRONG_TYPES[column]))
        case "future_date":
            rule, column = "future_date", "visit_date"
            row[column] = draw(st.dates(TODAY + dt.timedelta(days=1), dt.date(9999, 12, 31)))
        case "before_1949":
            rule, column = "date_before_1949", "visit_date"
            row[column] = draw(
                st.dates(dt.date(1900, 3, 1), dt.date(1949, 9, 30)) | st.just("1066-10-14")
            )
        case "out_of_range":
            column = draw(st.sampled_from(("visits", "new_form_visits")))
            rule, row[column] = "out_of_range", -draw(st.integers(1, 100))
    station, day = cell_text(row["station_id"]), cell_text(row["visit_date"])
    if rule is not None:  # a blank station, or no date cell at all, leaves no key
        return row, Rejected(
            rule, column, f"{station}|{day}" if station and day is not None else None
        )
    return row, Kept(f"{station}|{day}", value=int(float(row["visits"])))


def workbook(columns: list[tuple[str, str]], rows: list[dict[str, Any] | None]) -> bytes:
    """A workbook whose first sheet has ``columns`` (header, field) and ``rows`` (None:
    blank); typed cells, as a reporting union's spreadsheet program would write them."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False}
    )
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for c, (header, _) in enumerate(columns):
        sheet.write_string(0, c, header)
    for r, row in enumerate(rows, start=1):
        for c, (_, name) in enumerate(columns):
            value = None if row is None else row.get(name)
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, value, day)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif value is not None:
                sheet.write_string(r, c, value)
    book.close()
    return buffer.getvalue()


@st.composite
def visit_scenarios(draw: st.DrawFn) -> Scenario:
    sc = Scenario("station-visit xlsx")
    months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
    broken = draw(st.none() | st.none() | st.integers(0, len(months) - 1))
    pool: list[dict[str, Any]] = []
    for i, month in enumerate(months):
        path = f"station_visits/station-visits-2024{month:02d}.xlsx"
        brk = draw(st.sampled_from(VISIT_BREAKS)) if i == broken else None
        order = list(VISIT_COLUMNS)
        if draw(st.booleans()):
            order = draw(st.permutations(order))
        pad = draw(st.sampled_from(("", " ")))
        columns = [(pad + VISIT_HEADERS[c] + pad, c) for c in order]
        extra = draw(st.sampled_from(("none", "drift", "repeat", "padded_repeat")))
        if extra == "drift":  # a column outside the contract: loaded without it, reported
            columns.append(("备注", "remark"))
        elif extra != "none":  # a header twice: the leftmost is read, the other reported
            repeated = VISIT_HEADERS[draw(st.sampled_from(VISIT_COLUMNS))]
            columns.append((repeated if extra == "repeat" else f" {repeated} ", "garbage"))
        named = ""
        if brk == "missing_header":
            gone = draw(st.sampled_from(VISIT_COLUMNS))
            columns = [(h, c) for h, c in columns if c != gone and h.strip() != VISIT_HEADERS[gone]]
            order.remove(gone)
            named = VISIT_HEADERS[gone]
        rows: list[dict[str, Any] | None] = []
        outcomes: list[tuple[int, Outcome]] = []
        for line in range(2, draw(st.integers(0, 7)) + 2):
            damage = draw(st.sampled_from(VISIT_DAMAGES))
            if damage == "duplicate" and pool:  # the same station and day: the later row wins
                base = dict(draw(st.sampled_from(pool)), visits=draw(st.integers(0, 500)))
                base["new_form_visits"] = min(base["new_form_visits"], base["visits"])
            else:
                damage = "valid" if damage == "duplicate" else damage
                base = draw(visit_row())
                pool.append(base)
            sc.damages[damage] += 1
            row, outcome = visit_outcome(draw, base, damage, order)
            if row is not None:
                row["garbage"] = draw(st.sampled_from(("x", -1, "2024-13-01")))
            rows.append(row)
            outcomes.append((line, outcome))
        data = workbook(columns, rows)
        if brk == "no_header_row":
            data, named = workbook([], []), VISIT_HEADERS["station_id"]
        elif brk == "not_a_workbook":
            data = ",".join(VISIT_HEADERS.values()).encode() + b"\nS1,2024-06-01,1,0,U1\n"
        elif brk == "truncated_workbook":
            data = data[: len(data) // 2]
        sc.files[path] = data
        if brk is not None:
            sc.break_file(path, named)
            continue
        if extra != "none":
            sc.drift.setdefault("station_visit", set()).add(path)
        sc.record("station_visit", path, outcomes)
    return sc


@HOSTILE
@given(visit_scenarios())
def test_hostile_station_visit_workbooks(sc: Scenario) -> None:
    results = run_scenario(sc, load_services, {"station_visit": "visits"})
    drift = results["station_visit"].report.get("schema_drift", {})
    assert set(drift) == sc.drift.get("station_visit", set())


# --- regressions: what the fuzzing found, as plain examples --------------------------------

DELIVERY_PATH = "deliveries/110101/deliveries-20240301.csv"
DELIVERY_HEADER = ",".join(DELIVERY_COLUMNS) + "\n"
DELIVERY_ROW = (
    "{},P000001,,MEMBER,U00000001,{},,110101,2024-03-01,1,10.00,ONSITE,2024-03-01 10:00:00,{}\n"
)
DELIVERY_RANK = (dt.datetime(2024, 3, 1, 10),)
# The contract's own example of a hotline request (SOURCES.md).
HOTLINE_EXAMPLE = {
    "request_id": "H202400012345", "received_at": "2024-07-01T08:55:10+08:00", "channel": "PHONE",
    "caller": {"member_id": None, "phone": "13800000000"}, "district_code": "110108",
    "category": "CONSULT", "topic": "WAGES", "handling": "DISPATCHED",
    "assigned_union_id": "U00004567", "complexity": "GENERAL",
    "due_at": "2024-07-08T08:55:10+08:00", "closed_at": "2024-07-03T17:20:00+08:00",
    "status": "CLOSED", "satisfaction": 5, "linked_case_id": None,
    "updated_at": "2024-07-03T17:20:00+08:00",
}  # fmt: skip
HOTLINE_RANK = (dt.datetime(2024, 7, 3, 17, 20),)


def hotline_export(*records: dict[str, Any]) -> dict[str, bytes]:
    return {"hotline-20240703.jsonl": "".join(json.dumps(r) + "\n" for r in records).encode()}


def test_csv_field_over_128_kib_is_loaded() -> None:
    """Python's csv raised on a field over 128 KiB, which stopped the whole file."""
    long_name, long_remark = "长" * 200_000, '"' + "备注," * 100_000 + '"'
    text = (
        DELIVERY_HEADER
        + DELIVERY_ROW.format("D1", long_name, "")
        + DELIVERY_ROW.format("D2", "东城区总工会", long_remark)
    )
    sc = Scenario("regression", files={DELIVERY_PATH: text.encode("gb18030")})
    sc.record(
        "delivery",
        DELIVERY_PATH,
        [
            (2, Kept("D1", DELIVERY_RANK, value=long_name)),
            (3, Kept("D2", DELIVERY_RANK, value="东城区总工会")),
        ],
    )
    run_scenario(sc, load_services, {"delivery": "union_name"})


def test_line_break_in_unquoted_remark_keeps_its_phone_out_of_quarantine() -> None:
    """The tail of a broken remark became a quarantine row keyed by the phone it held."""
    text = (
        DELIVERY_HEADER
        + DELIVERY_ROW.format("D1", "工会", "请回访\n电话13912345678")
        + DELIVERY_ROW.format("D2", "工会", "")
        + "D3,too,few\n"
    )
    sc = Scenario("regression", files={DELIVERY_PATH: text.encode()})
    sc.plant("13912345678")
    sc.record(
        "delivery",
        DELIVERY_PATH,
        [
            (2, Kept("D1", DELIVERY_RANK, value="工会")),
            (3, Rejected("wrong_field_count", None, None)),  # not "电话13912345678"
            (4, Kept("D2", DELIVERY_RANK, value="工会")),
            (5, Rejected("wrong_field_count", None, "D3")),
        ],
    )
    run_scenario(sc, load_services, {"delivery": "union_name"})


def test_json_line_with_unpaired_surrogate_escape_is_malformed() -> None:
    """A \\ud800 escape decoded to a lone surrogate that crashed the whole dispute load."""
    sc = Scenario("regression")
    sc.files = hotline_export(
        HOTLINE_EXAMPLE, dict(HOTLINE_EXAMPLE, request_id="H2", topic="\ud800")
    )
    sc.plant("13800000000")
    sc.record(
        "hotline_request",
        "hotline-20240703.jsonl",
        [(1, Kept("H202400012345", HOTLINE_RANK, value=5)), (2, MALFORMED)],
    )
    run_scenario(sc, load_disputes, {"hotline_request": "satisfaction"})


def test_satisfaction_outside_one_to_five_is_out_of_range() -> None:
    """A satisfaction of 6 loaded, then failed the marts' accepted-values test (1..5)."""
    sc = Scenario("regression")
    sc.files = hotline_export(
        dict(HOTLINE_EXAMPLE, request_id="H1", satisfaction=6),
        dict(HOTLINE_EXAMPLE, request_id="H2", satisfaction=1),
    )
    sc.record(
        "hotline_request",
        "hotline-20240703.jsonl",
        [
            (1, Rejected("out_of_range", "satisfaction", "H1")),
            (2, Kept("H2", HOTLINE_RANK, value=1)),
        ],
    )
    run_scenario(sc, load_disputes, {"hotline_request": "satisfaction"})


def test_workbook_header_repeated_with_padding_reads_the_leftmost() -> None:
    """Two headers equal once stripped crashed the rename of the sheet's columns."""
    path = "station_visits/station-visits-202406.xlsx"
    columns = [(VISIT_HEADERS[c], c) for c in VISIT_COLUMNS] + [(" 服务人次 ", "garbage")]
    row = {"station_id": "S000001", "visit_date": dt.date(2024, 6, 1), "visits": 3,
           "new_form_visits": 1, "reporting_union_id": "U00000001", "garbage": "many"}  # fmt: skip
    sc = Scenario("regression", files={path: workbook(columns, [row])})
    sc.record("station_visit", path, [(2, Kept("S000001|2024-06-01", value=3))])
    results = run_scenario(sc, load_services, {"station_visit": "visits"})
    assert results["station_visit"].report["schema_drift"] == {path: ["服务人次 (column 6)"]}
