"""The service system's landing directory: which files are there, and their records as text.

The landing directory is read through fsspec so a local path, ``memory://`` in tests and an
object store in production behave the same. Everything here is about files, not rules: it
turns bytes into frames of text columns named like the contract (plus ``_source_file`` and
``_source_line``), and raises ``ContractViolation`` when a whole file breaks the contract.
Validation and reconciliation happen in ``ingestion.services``.

Line numbers count records, the header being line 1: a quoted remark spanning physical lines
is still one record, which is how the source system (and the simulator's manifest) numbers
them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter

import fsspec
import polars as pl
from fsspec.core import url_to_fs

from ingestion.contract import STATION_VISIT_HEADERS, Entity
from ingestion.validation import ContractViolation, require_columns

# Files fetched per ``fs.cat`` call: an async file system (object stores) fetches them
# concurrently; a local one just loops. Bounded so memory stays flat over ~30k files.
FETCH_FILES = 256
# Rows of delivery text held as Python strings before they are moved into polars; Python
# keeps ~1 kB per 14-field row, polars a small fraction of that.
FLUSH_ROWS = 200_000
PART_SUFFIX = ".part"
_GLOB = re.compile(r"[*?\[]")
# Python's csv refuses a field over 128 KiB with csv.Error, which would stop a whole file for
# one oversized remark. The file is in memory already, so the limit protects nothing: lift it
# (process-wide, and only ever upwards; 2**31 - 1 fits a C long everywhere).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
# The key kept for a row with the wrong number of fields. Such a row may be the tail of a
# record whose unquoted remark (personal data) broke across lines, so its first field can be
# free text: only a value shaped like the contract's identifiers (a letter, then letters,
# digits, '_', '-', '.') holding no phone- or ID-number-like digit run is kept.
_KEY_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
_PERSONAL_NUMBER = re.compile(r"(?<!\d)(?:1\d{10}|\d{15}|\d{17}[\dXx])(?!\d)")

_PATTERNS: dict[str, re.Pattern[str]] = {
    "program": re.compile(r"^programs/programs-(?P<day>\d{8})\.csv$"),
    "station": re.compile(r"^stations/stations-(?P<day>\d{8})\.csv$"),
    "delivery": re.compile(
        r"^deliveries/(?P<district>[^/]+)/deliveries-(?P<day>\d{8})(?:-r(?P<revision>\d+))?\.csv$"
    ),
    "station_visit": re.compile(r"^station_visits/station-visits-(?P<month>\d{6})\.xlsx$"),
}
_FOLDERS = {
    "programs": "program",
    "stations": "station",
    "deliveries": "delivery",
    "station_visits": "station_visit",
}


def folder_entity(relative: str) -> str:
    """The entity whose folder holds ``relative`` ('landing' for anything else)."""
    return _FOLDERS.get(relative.split("/", 1)[0], "landing")


@dataclass(frozen=True, slots=True)
class LandingFile:
    """One file of the landing directory, named by its path relative to the landing dir."""

    path: str
    size: int
    entity: str
    stamp: str  # YYYYMMDD (snapshots, deliveries) or YYYYMM (visits): orders files in time
    revision: int = 1
    group: str = ""  # deliveries: the path without revision suffix and extension


@dataclass
class Landing:
    """What the landing directory holds, by entity, with everything that was left out."""

    fs: fsspec.AbstractFileSystem
    root: str
    files: dict[str, list[LandingFile]]
    partial: dict[str, list[str]] = field(default_factory=dict)
    unrecognised: dict[str, list[str]] = field(default_factory=dict)

    def url(self, file: LandingFile) -> str:
        return f"{self.root}/{file.path}"

    def fetch(self, files: list[LandingFile]) -> Iterator[tuple[LandingFile, bytes]]:
        """The bytes of ``files``, in order, a bounded number at a time."""
        for start in range(0, len(files), FETCH_FILES):
            chunk = files[start : start + FETCH_FILES]
            urls = [self.url(f) for f in chunk]
            if self.fs.async_impl and not any(_GLOB.search(u) for u in urls):
                # One call fetches the chunk concurrently; ``cat`` would glob a path with
                # wildcard characters, so those go one by one.
                blobs = self.fs.cat(urls, on_error="raise")
            else:
                blobs = {u: self.fs.cat_file(u) for u in urls}
            for file, url in zip(chunk, urls, strict=True):
                yield file, blobs[url]


def scan_landing(url: str) -> Landing:
    """List the landing directory once and classify every file by entity."""
    fs, root = url_to_fs(url)
    root = root.rstrip("/")
    if not fs.exists(root):
        raise FileNotFoundError(f"service landing directory {url!r} does not exist")
    found = fs.find(root, detail=True)
    landing = Landing(fs=fs, root=root, files={name: [] for name in _PATTERNS})
    for full, info in sorted(found.items()):
        if info.get("type", "file") != "file":
            continue
        relative = full[len(root) :].lstrip("/")
        name = relative.rsplit("/", 1)[-1]
        if name.startswith("."):
            continue  # editor and OS droppings (.DS_Store, .~lock files) are no data
        if relative.endswith(PART_SUFFIX):
            # Still being written: it is read once renamed.
            landing.partial.setdefault(folder_entity(relative), []).append(relative)
            continue
        entity = folder_entity(relative)
        match = _PATTERNS[entity].match(relative) if entity in _PATTERNS else None
        if match is None:
            landing.unrecognised.setdefault(entity, []).append(relative)
            continue
        parts = match.groupdict()
        revision = int(parts.get("revision") or 1)
        group = re.sub(r"(-r\d+)?\.csv$", "", relative) if entity == "delivery" else ""
        landing.files[entity].append(
            LandingFile(
                path=relative,
                size=int(info.get("size") or 0),
                entity=entity,
                stamp=parts.get("day") or parts["month"],
                revision=revision,
                group=group,
            )
        )
    return landing


# --- CSV ----------------------------------------------------------------------------------


def decode(data: bytes, where: str) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in: UTF-8, else GB18030.

    District systems differ and send no marker, so strict UTF-8 decides: GB18030 bytes of
    Chinese text are almost never valid UTF-8, while ASCII-only files are the same in both.
    """
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as exc:
            raise ContractViolation(
                f"{where}: not a CSV file: decodes as neither UTF-8 nor GB18030 ({exc})"
            ) from None
    if text.startswith("\ufeff"):
        # The contract says no BOM; one costs nothing to tolerate and is reported.
        text, encoding = text[1:], "utf-8-sig"
    if "\x00" in text:
        raise ContractViolation(f"{where}: not a CSV file: it holds NUL bytes (binary data?)")
    return text, encoding


def read_header(text: str, entity: Entity, where: str) -> tuple[list[str], Iterator[list[str]]]:
    """The stripped header (checked against the contract) and a reader at the first record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise ContractViolation(f"{where}: not a CSV file: {exc}") from None
    if not any(header):
        raise ContractViolation(
            f"{where}: no header line; required column {entity.key!r} of "
            f"{entity.source}.{entity.name} is missing"
        )
    require_columns(header, entity, where)
    repeated = [name for name, n in Counter(header).items() if n > 1 and name]
    if repeated:
        raise ContractViolation(f"{where}: column {repeated[0]!r} appears more than once")
    return header, reader


def _row_key(text: str) -> str | None:
    key = text.strip()
    if _KEY_SHAPE.fullmatch(key) and not _PERSONAL_NUMBER.search(key):
        return key
    return None


def drift_columns(header: list[str], entity: Entity) -> list[str]:
    known = set(entity.column_names)
    return [h for h in header if h not in known]


@dataclass
class CsvText:
    """Records of many CSV files of one entity, as text columns in contract order.

    PII columns are never copied out of the reader's rows, so they never reach polars.
    Rows with the wrong number of fields are kept aside (file, line, key, field counts).
    """

    entity: Entity
    extra: dict[str, pl.DataType] = field(default_factory=dict)  # per-file constant columns
    # Receives each chunk of records as it is parsed (see ``schema``); without one, chunks
    # are kept for ``frame``.
    sink: Callable[[pl.DataFrame], None] | None = None
    encodings: Counter[str] = field(default_factory=Counter)
    drift: dict[str, list[str]] = field(default_factory=dict)
    bad_rows: list[tuple[str, int, str | None, int, int]] = field(default_factory=list)
    rows_read: int = 0
    _parts: list[pl.DataFrame] = field(default_factory=list)
    _rows: list[list[str]] = field(default_factory=list)
    _lines: list[int] = field(default_factory=list)
    _files: list[tuple[str, int, tuple[object, ...]]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.entity.column_names

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The chunks' columns: non-PII contract columns as text, then bookkeeping."""
        schema: dict[str, pl.DataType] = {
            c.name: pl.String() for c in self.entity.columns if not c.pii
        }
        return schema | {"_source_file": pl.String(), **self.extra, "_source_line": pl.Int64()}

    def add(self, file: LandingFile, data: bytes, constants: tuple[object, ...] = ()) -> None:
        """Parse one file; ``constants`` are the values of ``extra`` for its rows."""
        where = file.path
        text, encoding = decode(data, where)
        header, reader = read_header(text, self.entity, where)
        self.encodings[encoding] += 1
        drift = drift_columns(header, self.entity)
        if drift:
            self.drift[where] = drift
        width = len(header)
        key_at = header.index(self.entity.key)
        try:
            records = list(reader)
        except csv.Error as exc:
            raise ContractViolation(f"{where}: not a CSV file: {exc}") from None
        lengths = list(map(len, records))
        if lengths.count(width) == len(records):
            good, lines = records, list(range(2, len(records) + 2))
        else:
            good, lines = [], []
            for line, (row, length) in enumerate(zip(records, lengths, strict=True), start=2):
                if length == width:
                    good.append(row)
                    lines.append(line)
                elif length:  # a blank line is no record
                    key = _row_key(row[key_at]) if length > key_at else None
                    self.bad_rows.append((where, line, key, length, width))
        self.rows_read += len(good) + sum(1 for n in lengths if n and n != width)
        if header != self.columns:
            good = self._reorder(header, good)
        self._rows.extend(good)
        self._lines.extend(lines)
        self._files.append((where, len(good), constants))
        if len(self._rows) >= FLUSH_ROWS:
            self._flush()

    def _reorder(self, header: list[str], rows: list[list[str]]) -> list[list[str]]:
        # Only files that drifted from the contract's layout pay for a per-row Python copy.
        position = {name: i for i, name in enumerate(header)}
        index = [position.get(c.name, -1) if not c.pii else -1 for c in self.entity.columns]
        return [[row[i] if i >= 0 else "" for i in index] for row in rows]

    def _flush(self) -> None:
        if not self._files:
            return
        data: dict[str, pl.Series] = {}
        for i, column in enumerate(self.entity.columns):
            if column.pii:
                continue  # dropped here: PII text never leaves the CSV reader's rows
            # One column at a time (C-level map) is ~3x faster than transposing with zip(*).
            values = list(map(itemgetter(i), self._rows))
            data[column.name] = pl.Series(column.name, values, dtype=pl.String)
        names, counts, constants = zip(*self._files, strict=True)
        per_file = pl.DataFrame(
            {
                "_source_file": list(names),
                "_n": list(counts),
                **{
                    name: pl.Series(name, [c[i] for c in constants], dtype=dtype)
                    for i, (name, dtype) in enumerate(self.extra.items())
                },
            },
            schema_overrides={"_n": pl.Int64},
        ).filter(pl.col("_n") > 0)
        repeated = per_file.select(pl.exclude("_n").repeat_by(pl.col("_n")).explode())
        frame = (
            pl.DataFrame(data)
            .with_columns(
                *repeated.get_columns(),
                pl.Series("_source_line", self._lines, dtype=pl.Int64),
            )
            .select(list(self.schema))
        )
        self._rows, self._lines, self._files = [], [], []
        if self.sink is not None:
            self.sink(frame)
        else:
            self._parts.append(frame)

    def finish(self) -> None:
        """Hand over the records still held (call once every file is added)."""
        self._flush()

    def frame(self) -> pl.DataFrame:
        """Every record read so far, when no ``sink`` takes them."""
        self._flush()
        if not self._parts:
            return pl.DataFrame(schema=self.schema)
        return pl.concat(self._parts, how="vertical")

    def wrong_field_count(self) -> pl.DataFrame:
        """The rows with the wrong number of fields, in the quarantine's shape.

        Only the key (the field under the key's header; the first one in contract order) is
        kept as content, and only when it is shaped like one (``_row_key``): the rest cannot be
        attributed to columns, and one of them may be the PII remark.
        """
        key = self.entity.key
        files, lines, firsts, counts, widths = (
            zip(*self.bad_rows, strict=True) if self.bad_rows else ((), (), (), (), ())
        )
        return pl.DataFrame(
            {
                key: pl.Series(firsts, dtype=pl.String),
                "_record_key": pl.Series(firsts, dtype=pl.String),
                "_source_file": pl.Series(files, dtype=pl.String),
                "_source_line": pl.Series(lines, dtype=pl.Int64),
                "rule": pl.Series(["wrong_field_count"] * len(files), dtype=pl.String),
                "column_name": pl.Series([None] * len(files), dtype=pl.String),
                "value": pl.Series(
                    [f"{n} fields, header has {w}" for n, w in zip(counts, widths, strict=True)],
                    dtype=pl.String,
                ),
            }
        )


# --- xlsx ---------------------------------------------------------------------------------

_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$"


def read_visits(file: LandingFile, data: bytes) -> tuple[pl.DataFrame, list[str]]:
    """One monthly station-visit workbook (first sheet) as contract-named text columns.

    Returns the frame (with ``_source_file`` and ``_source_line``, the sheet row number with
    the header as 1) and the headers outside the contract.
    """
    where = file.path
    try:
        sheet = pl.read_excel(
            io.BytesIO(data),
            engine="calamine",
            read_options={"dtypes": "string"},
            # Keep blank rows and columns: row numbers must match the sheet, and a header
            # over an empty column is still present.
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as exc:  # calamine raises its own error types for every broken input
        raise ContractViolation(f"{where}: not a valid xlsx workbook ({exc})") from None
    # A header repeated with other padding would give two columns one name (the rename below
    # would raise): like a repeat the engine renames itself (``日期_1``), the leftmost one is
    # read and the others are reported as drift, by their column number.
    headers: list[str] = []
    for number, name in enumerate(sheet.columns, start=1):
        stripped = str(name).strip()
        headers.append(f"{stripped} (column {number})" if stripped in headers else stripped)
    for chinese, column in STATION_VISIT_HEADERS.items():
        if chinese not in headers:
            raise ContractViolation(
                f"{where}: required header {chinese!r} (station_visit.{column}) is missing"
            )
    drift = [h for h in headers if h not in STATION_VISIT_HEADERS and not h.startswith("__")]
    sheet = sheet.rename(dict(zip(sheet.columns, headers, strict=True)))
    text = (
        sheet.select(
            pl.col(chinese).cast(pl.String).alias(column)
            for chinese, column in STATION_VISIT_HEADERS.items()
        )
        .with_columns(
            # Excel keeps dates as day serials; calamine renders date cells as midnight.
            pl.col("visit_date").str.strip_chars().str.replace(_MIDNIGHT, "$1"),
            pl.lit(where).alias("_source_file"),
            pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_source_line"),
        )
        .filter(~pl.all_horizontal(pl.col(STATION_VISIT_HEADERS.values()).is_null()))
    )
    return text, drift
