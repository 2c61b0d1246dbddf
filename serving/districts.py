"""Per-district serving files: a district union's analysts get a file holding only their
district's rows, cut from the published (already quality-gated) serving file.

Rows are kept by the table's own ``district_code``; tables without one are scoped through
what they describe (a case's claim types, the members of the district's unions, the
employers of its cases). Reference data (dates, codes, industries, programs, KPI
definitions) is copied whole; it holds no district's records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from serving.publish import (
    SERVING_STORAGE,
    discard,
    literal,
    published_tables,
    quote,
    record_publication,
    staged_path,
    swap_in,
    write_tables,
)

# Tables scoped by something other than their own district_code; {d} is the district.
_SCOPED = {
    "bridge_case_claim_types": (
        "case_key in (select case_key from src.marts.fct_dispute_cases where district_code = {d})"
    ),
    "dim_member": (
        "union_id in (select union_id from src.marts.dim_union where district_code = {d})"
    ),
    "dim_employer": (
        "employer_key in "
        "(select employer_key from src.marts.fct_dispute_cases where district_code = {d})"
    ),
}


def district_codes(serving: Path) -> list[str]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return [
            code
            for (code,) in con.execute(
                "select district_code from marts.dim_district where not is_unknown order by 1"
            ).fetchall()
        ]


def district_file(out_dir: Path, district: str) -> Path:
    return out_dir / f"serving_{district}.duckdb"


def _scoped_selects(serving: Path) -> dict[tuple[str, str], str]:
    """Each published table's select, with ``{d}`` where the district literal goes."""
    with duckdb.connect() as con:
        con.execute(f"attach {literal(serving.resolve())} as src (read_only)")
        with_district = {
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.columns "
                "where table_catalog = 'src' and column_name = 'district_code'"
            ).fetchall()
        }
        selects = {}
        for schema, name in published_tables(con, "src"):
            if name in _SCOPED:
                where = _SCOPED[name]
            elif (schema, name) in with_district:
                where = "district_code = {d}"
            else:
                where = "true"
            selects[(schema, name)] = (
                f"select * from src.{quote(schema)}.{quote(name)} where {where}"
            )
        return selects


def publish_districts(serving: Path, out_dir: Path, districts: list[str] | None = None) -> dict:
    """Write one file per district (all districts by default); returns rows per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    known = district_codes(serving)
    chosen = districts or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown district codes: {', '.join(unknown)}")
    with duckdb.connect(str(serving), read_only=True) as source:
        (version,) = source.execute("select version from meta.publication").fetchall()[0]
    templates = _scoped_selects(serving)
    written: dict[str, dict[str, int]] = {}
    for district in chosen:
        target = district_file(out_dir, district)
        staged = staged_path(target)
        discard(staged)
        try:
            with duckdb.connect(str(staged), config=SERVING_STORAGE) as con:
                con.execute(f"attach {literal(serving.resolve())} as src (read_only)")
                d = literal(district)
                tables = write_tables(con, {k: t.format(d=d) for k, t in templates.items()})
                con.execute("detach src")
                record_publication(
                    con, version, datetime.now(UTC).replace(tzinfo=None), tables,
                    district_code=district,
                )  # fmt: skip
                con.execute("checkpoint")
            swap_in(staged, target)
        finally:
            discard(staged)
        written[district] = tables
    return written
