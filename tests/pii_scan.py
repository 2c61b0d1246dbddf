"""Find planted personal data anywhere the pipeline writes.

DuckDB and Parquet compress strings, so a byte scan of them proves nothing: their text
columns (nested ones through JSON) are queried instead. SQLite files (Dagster's run and event
storage) are read row by row, compressed values decompressed (Dagster stores its job
snapshots zlib-compressed), and their bytes scanned as UTF-8, SQLite's encoding, which also
covers rows in free pages. Every other file is scanned as bytes, as UTF-8 and as GB18030.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

NUMBER = re.compile(r"[0-9]{11,17}[0-9Xx]?")
CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@dataclass
class Pii:
    """The plain values that must never appear: ID numbers and phones, names, and secrets
    (the PII key, the API token), which are found anywhere inside a text."""

    numbers: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)

    def hits_in_text(self, text: str) -> set[str]:
        found = {m.upper() for m in NUMBER.findall(text)} & self.numbers
        found |= {secret for secret in self.secrets if secret in text}
        for run in CJK_RUN.findall(text):
            for size in range(2, min(len(run), 4) + 1):
                found |= {run[i : i + size] for i in range(len(run) - size + 1)} & self.names
        return found


def planted_pii(sources: Path) -> Pii:
    """Every name, ID number and phone the simulated sources hold."""
    pii = Pii()
    with sqlite3.connect(sources / "membership.db") as con:
        for name, id_number, phone in con.execute("select name, id_number, phone from member"):
            pii.names.add(name)
            pii.numbers |= {v.upper() for v in (id_number, phone) if v and len(v) >= 11}
    for path in sorted((sources / "disputes").iterdir()):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                for claimant in record.get("claimants") or []:
                    pii.names.add(claimant.get("name") or "")
                    for v in (claimant.get("id_number"), claimant.get("phone")):
                        if v and len(v) >= 11:
                            pii.numbers.add(v.upper())
                phone = (record.get("caller") or {}).get("phone")
                if phone and len(phone) >= 11:
                    pii.numbers.add(phone)
    manifest = json.loads((sources / "manifest.json").read_text(encoding="utf-8"))
    pii.numbers |= {p["pii"] for p in manifest["planted"] if p.get("pii")}
    pii.names.discard("")
    # Two-character names also occur inside ordinary words of place and company names; they
    # are still checked, as whole values, by the table scan below.
    return pii


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    return con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where data_type not in ('BIGINT', 'INTEGER', 'DOUBLE', 'DATE', 'BOOLEAN', 'TIMESTAMP') "
        "and data_type not like 'DECIMAL%' order by all"
    ).fetchall()


def scan_relation(con: duckdb.DuckDBPyConnection, relation: str, column: str, pii: Pii) -> set[str]:
    """Planted values found in one column: numbers anywhere in it, names as whole strings."""
    text = f'to_json("{column}")::varchar'
    numbers = {
        r[0].upper()
        for r in con.execute(
            f"select distinct unnest(regexp_extract_all({text}, '[0-9]{{11,17}}[0-9Xx]?')) "
            f"from {relation}"
        ).fetchall()
    }
    strings = {
        r[0]
        for r in con.execute(
            f'select distinct unnest(regexp_extract_all({text}, \'"([^"]*)"\', 1)) from {relation}'
        ).fetchall()
    }
    secrets = {
        secret
        for secret in pii.secrets
        if con.execute(
            f"select count(*) from {relation} where contains({text}, ?)", [secret]
        ).fetchall()[0][0]
    }
    return (numbers & pii.numbers) | (strings & pii.names) | secrets


def scan_duckdb(path: Path, pii: Pii) -> dict[str, set[str]]:
    findings: dict[str, set[str]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for schema, table, column, _ in _text_columns(con):
            hits = scan_relation(con, f'"{schema}"."{table}"', column, pii)
            if hits:
                findings[f"{path.name}:{schema}.{table}.{column}"] = hits
    return findings


def scan_parquet(path: Path, pii: Pii) -> dict[str, set[str]]:
    findings: dict[str, set[str]] = {}
    with duckdb.connect() as con:
        con.execute(f"create view f as select * from read_parquet('{path}')")
        for _, _, column, _ in _text_columns(con):
            hits = scan_relation(con, "f", column, pii)
            if hits:
                findings[f"{path}:{column}"] = hits
    return findings


SQLITE_HEADER = b"SQLite format 3\x00"


def scan_sqlite(path: Path, pii: Pii) -> set[str]:
    """Every value of every table, a zlib-compressed one decompressed, and the file's bytes
    as UTF-8. Not as GB18030: compressed bytes read that way spell two-character names by
    chance (a Dagster job snapshot spelled 何军, 2026-12-06), and SQLite's text is UTF-8."""
    found = pii.hits_in_text(path.read_bytes().decode("utf-8", errors="ignore"))
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        tables = [t for (t,) in con.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, (str, bytes)):
                        found |= pii.hits_in_text(_sqlite_text(value))
    return found


def _sqlite_text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    try:
        return zlib.decompress(value).decode("utf-8", errors="ignore")
    except zlib.error:  # a blob stored as it is
        return value.decode("utf-8", errors="ignore")


def scan_bytes(path: Path, pii: Pii) -> set[str]:
    data = path.read_bytes()
    return pii.hits_in_text(data.decode("utf-8", errors="ignore")) | pii.hits_in_text(
        data.decode("gb18030", errors="ignore")
    )


# Images and fonts (GX Data Docs ship some) hold no text; decoded as GB18030 their bytes
# spell two-character "names" by chance.
BINARY_ASSETS = {".gif", ".png", ".jpg", ".jpeg", ".ico", ".woff", ".woff2", ".ttf", ".eot"}


def scan_tree(root: Path, pii: Pii) -> dict[str, set[str]]:
    """Every file under ``root``: DuckDB files and Parquet by query, the rest as bytes."""
    findings: dict[str, set[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() in BINARY_ASSETS:
            continue
        if path.suffix == ".duckdb":
            findings |= scan_duckdb(path, pii)
        elif path.suffix == ".parquet":
            findings |= scan_parquet(path, pii)
        else:
            try:
                hits = (scan_sqlite if _is_sqlite(path) else scan_bytes)(path, pii)
            except FileNotFoundError:
                continue  # gone since it was listed: SQLite's -shm when its last reader closes
            if hits:
                findings[str(path)] = hits
    return findings


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
