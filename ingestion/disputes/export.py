"""The dispute system's JSON-lines export: which files to read, and reading them line by line.

Files are ``cases-YYYYMMDD.jsonl`` and ``hotline-YYYYMMDD.jsonl``, optionally gzipped. Every
other name (``*.part`` above all: still being written) is ignored. A file is read once: its
name is recorded with its size when the load commits, and later loads skip it.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.crash_points import crash_point
from ingestion.disputes.records import SURROGATE_ESCAPE, RecordCollector, unicode_text
from ingestion.validation import ContractViolation

logger = logging.getLogger(__name__)

EXPORT_NAME = re.compile(r"(?P<prefix>cases|hotline)-(?P<day>\d{8})\.jsonl(?P<gz>\.gz)?")
FILE_PREFIX = {"case": "cases", "hotline_request": "hotline"}


@dataclass(frozen=True)
class ExportRead:
    """What reading one entity's new export files did."""

    files: list[tuple[str, int]]
    skipped: int
    changed: list[str]


def export_files(export_dir: Path, entity: str) -> list[Path]:
    """The entity's export files in name order (which is date order)."""
    if not export_dir.is_dir():
        raise FileNotFoundError(f"dispute export directory {export_dir} does not exist")
    prefix = FILE_PREFIX[entity]
    found = []
    for path in export_dir.iterdir():
        match = EXPORT_NAME.fullmatch(path.name)
        if match is not None and match["prefix"] == prefix and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.name)


def read_text(path: Path) -> tuple[str, int]:
    """The file's text and its size on disk; ``ContractViolation`` when it is not what its
    name claims (gzip that is not gzip, text that is not UTF-8)."""
    data = path.read_bytes()
    size = len(data)
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            # No chained exception: the message of a decoder may quote the content.
            raise ContractViolation(f"{path.name}: not a valid gzip file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContractViolation(f"{path.name}: line {line} is not UTF-8 text") from None
    return text.removeprefix("\ufeff"), size


def lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based number (split on newline only, as written)."""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped:
            yield number, stripped


def decode(line: str) -> object:
    """The JSON value of a line, or None when it is not JSON (a malformed line).

    A \\uD800-\\uDFFF escape without its pair is valid JSON syntax but decodes to no Unicode
    text (RFC 8259, 8.2), which polars and Parquet cannot hold: such a line is malformed too.
    """
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if SURROGATE_ESCAPE.search(line) and not unicode_text(value):  # rare: checked only then
        return None
    return value


def read_export(
    export_dir: Path, collector: RecordCollector, processed: dict[str, int]
) -> ExportRead:
    """Feed every not yet processed export file of the collector's entity into it."""
    entity = collector.shape.entity.name
    files: list[tuple[str, int]] = []
    skipped = 0
    changed: list[str] = []
    for path in export_files(export_dir, entity):
        name = path.name
        if name in processed:
            skipped += 1
            if processed[name] != path.stat().st_size:
                changed.append(name)
            continue
        text, size = read_text(path)
        for number, line in lines(text):
            collector.add(decode(line), name, number, line, name)
        files.append((name, size))
        crash_point("disputes.export_file")
    if changed:
        # Export files are immutable once named; a rewrite is reported, not silently re-read.
        logger.warning(
            "%d processed dispute export file(s) changed size since: %s", len(changed), changed
        )
    return ExportRead(files=files, skipped=skipped, changed=changed)
