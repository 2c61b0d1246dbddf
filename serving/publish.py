"""Publishing the marts: copy them into a fresh DuckDB file, then swap it in atomically.

Readers keep the file they opened (on POSIX a rename never changes an open inode), so they
never see a half-written file and never hold a lock the pipeline needs. A failed publication
leaves the previous file untouched; only the dims, facts and KPI tables of ``marts`` are
copied, never raw, staging, quarantine or pseudonyms, with ``marts.data_quality``: the latest
findings of every check (``quality.results``), where the numbers are read.

Publication is the one gate of the pipeline: while the latest run of a check of ERROR
severity failed (a load that emptied an entity, facts that do not reconcile with the raw
layer, ...), nothing is published and the analysts keep the last good file.

Every publication is also kept, as a hard link to the same file, in
``<serving stem>_versions/<version>.duckdb``; the newest ``keep`` stay there for rollback.

A publication costs what changed. The file records a fingerprint of each table it holds (rows,
columns and an order-free hash of the rows); the next publication starts from a copy of the
serving file and touches only the tables whose fingerprint moved: in each, the rows whose hash
the other side lacks are deleted and the new ones inserted (``patch_table``), both found by
rowid from one pass that hashed each side (``hash_rows``; the warehouse's pass also gives the
fingerprint); a table with new columns, where over a quarter of the rows differ, or whose
patched rows would not match the fingerprint (a row held more often on one side), is written
anew. The copy is a new file, so the swap, the kept versions and the readers are as
before. The whole file is written again when there is nothing to start from (the first
publication, a file from before fingerprints, one that does not match its record) or when
freed blocks fill half the copy.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.crash_points import crash_point
from core.processes import process_alive
from quality.results import blocking_failures, published_select
from serving.model_changes import Since, build_log, changed_keys_sql, changes_since

PUBLISHED_SCHEMAS = ("marts",)
# Serving files are written in DuckDB 1.5's storage format: clients lag the library (the
# DuckDB CLI on PyPI is 1.5.6, BI drivers bundle older engines) and must still open them.
SERVING_STORAGE = {"storage_compatibility_version": "v1.5.0"}
KEEP_VERSIONS = 5
ENV_KEEP_VERSIONS = "UNIONWH_SERVING_KEEP_VERSIONS"


DATA_QUALITY = ("marts", "data_quality")


class PublicationBlocked(RuntimeError):
    """A check of ERROR severity failed in its latest run: the previous file stays."""

    def __init__(self, failures: list[dict]) -> None:
        self.failures = failures
        found = "; ".join(
            f"{f['asset']} {f['check_name']}"
            + (f" ({f['measure']})" if f["measure"] else "")
            + (f": {f['finding_en']}" if f["finding_en"] else "")
            for f in failures
        )
        super().__init__(f"publication blocked by {len(failures)} failed ERROR check(s): {found}")


@dataclass(frozen=True, slots=True)
class Publication:
    path: Path
    version: str
    published_at: datetime
    tables: dict[str, int]  # "<schema>.<table>" -> rows
    rewritten: tuple[str, ...]  # the tables written anew
    patched: dict[str, int]  # tables brought up to date in place -> rows deleted + inserted
    # tables brought up to date by the keys dbt's builds changed (``catch_up``) -> rows
    # deleted + inserted; 0 for a table no build changed since it was published
    keyed: dict[str, int]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def versions_dir(serving: Path) -> Path:
    return serving.with_name(f"{serving.stem}_versions")


def keep_versions() -> int:
    return int(os.environ.get(ENV_KEEP_VERSIONS) or KEEP_VERSIONS)


def staged_path(target: Path) -> Path:
    """A private name in the target's directory, so the final rename stays on one filesystem."""
    return target.with_name(f".{target.name}.{os.getpid()}.staged")


def discard(staged: Path) -> None:
    staged.unlink(missing_ok=True)
    staged.with_name(staged.name + ".wal").unlink(missing_ok=True)


def staged_files(target: Path) -> list[Path]:
    """The staged files beside ``target``: while one exists a publication is under way (or
    died before it could discard it)."""
    return list(target.parent.glob(f".{target.name}.*.staged"))


def discard_abandoned(target: Path) -> list[Path]:
    """Remove the staged files of publications whose process died (kill -9, power cut)
    before its ``finally`` could: a live process's staging file is left alone."""
    removed = []
    for staged in staged_files(target):
        pid = staged.name.removeprefix(f".{target.name}.").removesuffix(".staged")
        if not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
            continue
        discard(staged)
        removed.append(staged)
    return removed


def swap_in(staged: Path, target: Path) -> None:
    """Atomically replace ``target`` by the finished file ``staged``."""
    with staged.open("rb") as handle:
        os.fsync(handle.fileno())  # the data is on disk before the name points at it
    os.replace(staged, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_tables(con: duckdb.DuckDBPyConnection, selects: dict[tuple[str, str], str]) -> dict:
    """Create (or replace) each ``(schema, table)`` from its select; returns row counts by
    ``schema.table``."""
    rows: dict[str, int] = {}
    for schema in sorted({schema for schema, _ in selects}):
        con.execute(f"create schema if not exists {quote(schema)}")
    for (schema, name), select in selects.items():
        target = f"{quote(schema)}.{quote(name)}"
        con.execute(f"create or replace table {target} as {select}")
        rows[f"{schema}.{name}"] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
    return rows


# A relation's alias names its row as a struct, to hash whole rows (a column of the same name
# would win: none has it).
ROW = "_published_row"
# A table whose changed rows pass this share of its rows is written anew rather than patched.
PATCH_SHARE = 0.25


def hash_rows(con: duckdb.DuckDBPyConnection, relation: str, into: str) -> None:
    """``into``, a temp table of ``relation``'s rows by ``rowid`` (``rid``) and hash (``h``):
    the one pass over a table that its fingerprint and its patch share. 16 bytes a row,
    whatever the width of the rows."""
    con.execute(
        f"create or replace temp table {into} as "
        f"select rowid as rid, hash({ROW}) as h from {relation} as {ROW}"
    )


def patch_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    name: str,
    source: str,
    hashes: str,
    now: str,
) -> int | None:
    """Make the table equal the table ``source`` (whose rows ``hash_rows`` put in
    ``hashes``, and whose fingerprint is ``now``) by replacing only the rows that differ:
    every row of the table whose hash the other side lacks is deleted, and every row of
    ``source`` whose hash the table lacks inserted, both found by rowid. Returns the rows
    deleted plus inserted, or None when more than ``PATCH_SHARE`` of the rows differ, or when
    the patched table would not have the fingerprint ``now`` (the caller writes it whole).

    Anti-joins find the rows in a third of the time ``except all`` both ways took (at SF1,
    0.65 s against 1.7 s on 7 M rows), but see hashes, not how often each occurs: a table
    holding a row twice where the source holds it once is found by the patched table's
    fingerprint, which its old one gives without another pass (rows and hashes are sums)."""
    target = f"{quote(schema)}.{quote(name)}"
    hash_rows(con, target, "_publish_old")
    try:
        con.execute(
            "create or replace temp table _publish_gone as "
            f"select rid, h from _publish_old anti join {hashes} using (h)"
        )
        con.execute(
            "create or replace temp table _publish_came as "
            f"select rid, h from {hashes} anti join _publish_old using (h)"
        )
        old_rows, old_sum, gone, gone_sum, came, came_sum = con.execute(
            "select (select count(*) from _publish_old), "
            "(select coalesce(sum(h::hugeint), 0) from _publish_old), "
            "(select count(*) from _publish_gone), "
            "(select coalesce(sum(h::hugeint), 0) from _publish_gone), "
            "(select count(*) from _publish_came), "
            "(select coalesce(sum(h::hugeint), 0) from _publish_came)"
        ).fetchall()[0]
        rows, digest = rows_of(now), digest_of(now)
        if (old_rows - gone + came, old_sum - gone_sum + came_sum) != (rows, digest):
            return None
        if gone + came > PATCH_SHARE * max(rows, 1):
            return None
        if not gone + came:
            return 0
        deleted = con.execute(
            f"delete from {target} where rowid in (select rid from _publish_gone)"
        ).fetchall()[0][0]
        inserted = con.execute(
            f"insert into {target} select * from {source} where rowid in "
            "(select rid from _publish_came)"
        ).fetchall()[0][0]
        return deleted + inserted
    finally:
        for temp in ("_publish_old", "_publish_gone", "_publish_came"):
            con.execute(f"drop table if exists {temp}")


def fingerprint(con: duckdb.DuckDBPyConnection, relation: str, hashes: str) -> str:
    """``rows:hash:columns`` of the table ``relation``, whose rows ``hash_rows`` put in
    ``hashes``: the row count, the sum of the rows' hashes (order-free; a lost, doubled or
    changed row moves it) and a digest of the column names and types."""
    rows, digest = con.execute(
        f"select count(*), coalesce(sum(h::hugeint), 0)::varchar from {hashes}"
    ).fetchall()[0]
    return f"{rows}:{digest}:{columns_digest(con, relation)}"


def columns_digest(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """A digest of the names and types of ``relation``'s columns, in order."""
    columns = con.execute(f"describe {relation}").fetchall()
    signature = ",".join(f"{name} {kind}" for name, kind, *_ in columns)
    return con.execute("select md5(?)", [signature]).fetchall()[0][0]


def catch_up(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    name: str,
    source: str,
    was: str,
    since: Since | None,
) -> tuple[str, int] | None:
    """Bring the table, as published with fingerprint ``was``, up to date with ``source`` by
    the keys the warehouse's builds revisited ``since`` then (``serving.model_changes``): the
    rows of those keys are deleted and inserted again, and the fingerprint follows (rows and
    hashes are sums), without reading any other row. Returns the new fingerprint and the
    rows deleted plus inserted, or None when the log cannot tell, when the keys' rows pass
    ``PATCH_SHARE`` of the table, or when the row counts do not come out as the log says (the
    caller then compares every row's hash)."""
    if since is None or columns_digest(con, source) != columns_of(was):
        return None
    target = f"{quote(schema)}.{quote(name)}"
    changed, rows, digest = 0, rows_of(was), digest_of(was)
    if since.invocations:
        key = quote(since.key_column or "")
        # Rows are picked by rowid, found from the key column alone: a filter by key of the
        # whole rows read every column of every row (DuckDB does not push a join into a scan).
        temps = ("_publish_keys", "_publish_gone", "_publish_came")
        try:
            con.execute(
                f"create temp table {temps[0]} as " + changed_keys_sql("warehouse", name, since)
            )
            for picked, relation in zip(temps[1:], (target, source), strict=True):
                con.execute(
                    f"create temp table {picked} as select rowid as rid from {relation} as t "
                    f"semi join {temps[0]} as k on cast(t.{key} as varchar) = k.changed_key"
                )
            picked_rows = con.execute(
                f"select (select count(*) from {temps[1]}) + (select count(*) from {temps[2]})"
            ).fetchall()[0][0]
            if picked_rows > PATCH_SHARE * max(rows, 1):
                # Keys holding much of the table (a new month carried into every union's rows
                # of fct_membership_monthly): comparing every row's hash replaces only the rows
                # that differ, where the keys' rows would all be deleted and written again.
                return None
            (gone, gone_sum), (came, came_sum) = (
                con.execute(
                    f"select count(*), coalesce(sum(hash({ROW})::hugeint), 0) from "
                    f"(select * from {relation} where rowid in (select rid from {picked})) "
                    f"as {ROW}"
                ).fetchall()[0]
                for picked, relation in zip(temps[1:], (target, source), strict=True)
            )
            con.execute(f"delete from {target} where rowid in (select rid from {temps[1]})")
            con.execute(
                f"insert into {target} select * from {source} "
                f"where rowid in (select rid from {temps[2]})"
            )
        finally:
            for temp in temps:
                con.execute(f"drop table if exists {temp}")
        changed, rows, digest = gone + came, rows - gone + came, digest - gone_sum + came_sum
    counts = con.execute(
        f"select (select count(*) from {target}), (select count(*) from {source})"
    ).fetchall()[0]
    if counts != (rows, rows):
        return None
    return f"{rows}:{digest}:{columns_of(was)}", changed


def rows_of(fingerprint: str) -> int:
    return int(fingerprint.split(":")[0])


def digest_of(fingerprint: str) -> int:
    return int(fingerprint.split(":")[1])


def columns_of(fingerprint: str) -> str:
    return fingerprint.split(":")[-1]


@dataclass(frozen=True, slots=True)
class Previous:
    """What the serving file recorded of its tables: each one's fingerprint and, for the
    marts dbt's change log covers, the build it reflects (``built_by``)."""

    fingerprints: dict[str, str]
    built_by: dict[str, str]


def previous_record(serving: Path) -> Previous | None:
    """What the serving file recorded for its tables, when it still describes it (the same
    tables, the same row counts) and freed blocks fill less than half of it; else None: the
    next publication writes the whole file."""
    try:
        with duckdb.connect(str(serving), read_only=True) as con:
            (details,) = con.execute("select details from meta.publication").fetchall()[0]
            found = json.loads(details or "{}")
            recorded, built_by = found.get("fingerprints"), found.get("built_by") or {}
            if not isinstance(recorded, dict) or not isinstance(built_by, dict):
                return None
            held = published_tables(con, current_catalog(con))  # marts.data_quality too
            if sorted(recorded) != sorted(f"{s}.{n}" for s, n in held):
                return None
            for schema, name in held:
                (rows,) = con.execute(
                    f"select count(*) from {quote(schema)}.{quote(name)}"
                ).fetchall()[0]
                if rows_of(recorded[f"{schema}.{name}"]) != rows:
                    return None
            free, total = con.execute(
                "select free_blocks, total_blocks from pragma_database_size()"
            ).fetchall()[0]
    except (duckdb.Error, OSError, ValueError, KeyError, IndexError):
        return None
    return Previous(recorded, built_by) if 2 * free < max(total, 1) else None


def current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchall()[0][0]


def record_publication(
    con: duckdb.DuckDBPyConnection, version: str, published_at: datetime, tables: dict, **extra
) -> None:
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.publication as select ?::varchar as version, "
        "?::timestamp as published_at, ?::json as tables, ?::json as details",
        [version, published_at, json.dumps(tables), json.dumps(extra)],
    )


def published_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in ? order by all",
        [catalog, list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def source_relations(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """Every table to publish, by the relation of the attached ``warehouse`` it copies. Each
    must have rowids (``hash_rows``): a view of the marts, and ``marts.data_quality`` (a
    query), are held in temp tables first."""
    base_tables = set(
        con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'warehouse'"
        ).fetchall()
    )
    sources = {}
    for i, (schema, name) in enumerate(published_tables(con, "warehouse")):
        relation = f"warehouse.{quote(schema)}.{quote(name)}"
        if (schema, name) not in base_tables:
            con.execute(f"create temp table _publish_view_{i} as select * from {relation}")
            relation = f"_publish_view_{i}"
        sources[(schema, name)] = relation
    con.execute(f"create temp table _publish_quality as {published_select(con, 'warehouse')}")
    sources[DATA_QUALITY] = "_publish_quality"
    return sources


def publish(
    warehouse: Path,
    serving: Path,
    keep: int | None = None,
    gate: bool = True,
    whole: bool = False,
) -> Publication:
    """Write the marts of ``warehouse`` to a new file, keep it as a version and rename it
    over ``serving``; refused (``PublicationBlocked``) while an ERROR check fails, unless
    ``gate`` is off. The new file starts as a copy of ``serving`` with only the changed
    tables written again, unless ``whole`` (or there is no usable previous file)."""
    if gate and (failures := blocking_failures(warehouse)):
        raise PublicationBlocked(failures)
    serving.parent.mkdir(parents=True, exist_ok=True)
    discard_abandoned(serving)
    staged = staged_path(serving)
    discard(staged)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    version = published_at.strftime("%Y%m%dT%H%M%S%fZ")
    try:
        previous = None if whole or not serving.exists() else previous_record(serving)
        if previous is not None:
            shutil.copyfile(serving, staged)
        recorded = previous.fingerprints if previous else {}
        with duckdb.connect(str(staged), config=SERVING_STORAGE) as con:
            con.execute(f"attach {literal(warehouse.resolve())} as warehouse (read_only)")
            sources = source_relations(con)
            log = build_log(con, "warehouse")
            built_by = {f"marts.{m}": b[-1][0] for m, b in log.items() if ("marts", m) in sources}
            hashes: dict[tuple[str, str], str] = {}
            prints: dict[str, str] = {}
            keyed: dict[str, int] = {}
            for i, ((schema, name), source) in enumerate(sources.items()):
                key = f"{schema}.{name}"
                was, was_built = recorded.get(key), previous.built_by.get(key) if previous else None
                if was is not None and was_built is not None and key in built_by:
                    since = changes_since(log[name], was_built)
                    caught = catch_up(con, schema, name, source, was, since)
                    if caught is not None:
                        prints[key], keyed[key] = caught
                        continue
                hashes[(schema, name)] = f"_publish_new_{i}"
                hash_rows(con, source, hashes[(schema, name)])
                prints[key] = fingerprint(con, source, hashes[(schema, name)])
            changed = [
                (s, n)
                for s, n in sources
                if f"{s}.{n}" not in keyed and recorded.get(f"{s}.{n}") != prints[f"{s}.{n}"]
            ]
            for table in hashes.keys() - set(changed):
                con.execute(f"drop table {hashes[table]}")
            for schema, name in published_tables(con, current_catalog(con)):
                if (schema, name) not in sources:  # no longer a mart
                    con.execute(f"drop table {quote(schema)}.{quote(name)}")
            patched: dict[str, int] = {}
            rewrite: dict[tuple[str, str], str] = {}
            for schema, name in changed:
                key = f"{schema}.{name}"
                source, was, now = sources[(schema, name)], recorded.get(key), prints[key]
                done = None
                if was is not None and columns_of(was) == columns_of(now):
                    done = patch_table(con, schema, name, source, hashes[(schema, name)], now)
                # The hashes of a big mart hold tens of MB: given back table by table.
                con.execute(f"drop table {hashes[(schema, name)]}")
                if done is None:
                    rewrite[(schema, name)] = f"select * from {source}"
                else:
                    patched[key] = done
            write_tables(con, rewrite)
            crash_point("serving.staged")
            con.execute("detach warehouse")
            tables = {key: rows_of(value) for key, value in prints.items()}
            rewritten = tuple(f"{s}.{n}" for s, n in rewrite)
            record_publication(
                con,
                version,
                published_at,
                tables,
                fingerprints=prints,
                built_by=built_by,
                rewritten=rewritten,
                patched=patched,
                keyed=keyed,
            )
            con.execute("checkpoint")
        kept = versions_dir(serving) / f"{version}.duckdb"
        kept.parent.mkdir(exist_ok=True)
        os.link(staged, kept)
        crash_point("serving.kept")
        swap_in(staged, serving)
        crash_point("serving.swapped")
    finally:
        discard(staged)
    prune_versions(serving, keep if keep is not None else keep_versions())
    return Publication(serving, version, published_at, tables, rewritten, patched, keyed)


def list_versions(serving: Path) -> list[str]:
    """Kept versions, newest first."""
    folder = versions_dir(serving)
    if not folder.is_dir():
        return []
    return sorted((p.stem for p in folder.glob("*.duckdb")), reverse=True)


def current_version(serving: Path) -> str | None:
    """The kept version the serving file is (the same inode), if any."""
    if not serving.exists():
        return None
    for version in list_versions(serving):
        if os.path.samefile(versions_dir(serving) / f"{version}.duckdb", serving):
            return version
    return None


def prune_versions(serving: Path, keep: int) -> None:
    current = current_version(serving)
    for version in list_versions(serving)[max(keep, 1) :]:
        if version != current:
            (versions_dir(serving) / f"{version}.duckdb").unlink()


def rollback(serving: Path, to: str | None = None) -> str:
    """Make a kept version the serving file again (default: the one before the current
    one); returns it. Atomic like a publication."""
    kept = list_versions(serving)
    if to is None:
        current = current_version(serving)
        older = [v for v in kept if current is None or v < current]
        if not older:
            raise LookupError(f"no version older than {current} is kept in {versions_dir(serving)}")
        to = older[0]
    if to not in kept:
        raise LookupError(f"version {to} is not kept; kept: {', '.join(kept) or 'none'}")
    staged = staged_path(serving)
    discard(staged)
    try:
        os.link(versions_dir(serving) / f"{to}.duckdb", staged)
        swap_in(staged, serving)
    finally:
        discard(staged)
    return to


def compact_copy(source: Path, target: Path, block_size: int = 16_384) -> int:
    """Copy a serving file into ``target`` with small storage blocks (half the size for a
    tiny database, whose tables would each fill most of a 256 KiB block); returns bytes."""
    staged = staged_path(target)
    discard(staged)
    try:
        with duckdb.connect() as con:
            con.execute(
                f"attach {literal(staged)} as target (block_size {block_size}, "
                f"storage_version '{SERVING_STORAGE['storage_compatibility_version']}')"
            )
            con.execute(f"attach {literal(source)} as source (read_only)")
            con.execute("copy from database source to target")
        swap_in(staged, target)
    finally:
        discard(staged)
    return target.stat().st_size
