"""The limit: the pipeline's full refresh done by DuckDB alone, one stage per process.

    python -m bench.limit ingest --source membership --sources DIR --warehouse FILE --like RAW
    python -m bench.limit dbt --warehouse FILE --target DBT_TARGET_DIR --like WAREHOUSE
    python -m bench.limit quality --warehouse FILE
    python -m bench.limit publish --warehouse FILE --serving FILE

Each stage does the work of the pipeline's stage the way a DuckDB user would by hand, in one
connection, and prints one JSON line:

- ``ingest``: the source read by DuckDB's native readers (``read_json`` for the dispute
  export, ``read_csv`` for the landing directory), typed and checked against the same
  contract (``ingestion.contract``: the same rules, generated as SQL), pseudonymised with the
  same HMAC-SHA256 (two ``sha256`` calls), de-duplicated by the same cursor and written to
  ``raw.<entity>_current`` tables with the pipeline's raw columns. Where DuckDB has no
  reader on this machine, the fastest stand-in does the reading: SQLite through the ADBC
  driver into Arrow (the ``sqlite_scanner`` extension cannot be installed: no network, and
  PyPI carries it only up to DuckDB 1.5), xlsx through calamine (no ``excel`` extension),
  and the GB18030 delivery files transcoded in Python (no ``encodings`` extension).
- ``dbt``: the SQL dbt compiled for the pipeline's full build (``manifest.json``), executed
  in dependency order: seeds by ``read_csv``, models as ``create view``/``create table as``,
  then every data test as ``select count(*)`` over its compiled query.
- ``quality``: each great-expectations suite's batch query run to Arrow. This is the floor
  of that stage (the data the suites must read), not the same work: the expectations
  themselves are not evaluated.
- ``publish``: the marts copied into a new file by ``create table as`` and checkpointed.
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import os
import resource
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import duckdb

from ingestion.contract import (
    CASE,
    DELIVERY,
    EARLIEST_DATE,
    HONOR,
    HOTLINE_REQUEST,
    MEMBER,
    MEMBERSHIP_EVENT,
    PROGRAM,
    STATION,
    STATION_VISIT,
    STATION_VISIT_HEADERS,
    UNION_ORG,
    Column,
    Entity,
    codes,
)
from ingestion.disputes.records import CASE_SHAPE
from ingestion.validation import RULE_ORDER
from serving.publish import literal as lit
from serving.publish import quote as q

PII_KEY_ENV = "UNIONWH_PII_KEY"
DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
_TRUE = "('1', 'true', 't', 'yes', 'y')"
_FALSE = "('0', 'false', 'f', 'no', 'n')"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# --- SQL macros: the pipeline's PII and check-character rules -------------------------------


def create_macros(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """HMAC-SHA256 as two sha256 calls (RFC 2104 with a key of at most 64 bytes), and the ID
    and USCC check characters, as macros; identical pseudonyms to ``ingestion.pii``."""
    if len(key) > 64:
        raise ValueError("the limit's HMAC macro takes keys of at most 64 bytes")
    padded = key.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in padded).hex()
    outer = bytes(b ^ 0x5C for b in padded).hex()
    # The check sums written out term by term: a lambda over range(17) per row costs 5x more.
    id_sum = " + ".join(
        f"coalesce(try_cast(substr(norm(v), {i + 1}, 1) as integer), 0) * {w}"
        for i, w in enumerate(_ID_WEIGHTS)
    )
    uscc_digit = "(instr('{chars}', substr(norm(v), {pos}, 1)) - 1)"
    uscc_sum = " + ".join(
        uscc_digit.format(chars=_USCC_CHARS, pos=i + 1) + f" * {w}"
        for i, w in enumerate(_USCC_WEIGHTS)
    )
    uscc_known = " and ".join(
        f"instr('{_USCC_CHARS}', substr(norm(v), {i + 1}, 1)) > 0" for i in range(18)
    )
    con.execute(f"""
        create or replace macro norm(v) as nullif(upper(trim(v)), '');
        create or replace macro hmac_hex(v) as case when norm(v) is not null then
            sha256(from_hex('{outer}') || unhex(sha256(from_hex('{inner}') || encode(norm(v)))))
            end;
        create or replace macro id_birth(v) as
            try_strptime(substr(trim(v), 7, 8), '%Y%m%d')::date;
        create or replace macro id_ok(v) as case when norm(v) is not null then
            coalesce(regexp_full_match(norm(v), '[0-9]{{17}}[0-9X]')
            and substr('10X98765432', cast(({id_sum}) % 11 + 1 as bigint), 1)
                = substr(norm(v), 18, 1)
            and id_birth(v) is not null, false) end;
        create or replace macro id_sex(v) as case
            when try_cast(substr(trim(v), 17, 1) as integer) % 2 = 1 then 'M'
            when try_cast(substr(trim(v), 17, 1) as integer) is not null then 'F' end;
        create or replace macro uscc_ok(v) as case when norm(v) is not null then
            length(norm(v)) = 18
            and {uscc_known}
            and (31 - ({uscc_sum}) % 31) % 31
                = instr('{_USCC_CHARS}', substr(norm(v), 18, 1)) - 1 end;
        create or replace macro phone_ok(v) as regexp_full_match(trim(v), '1[0-9]{{10}}');
    """)


# --- the contract as SQL ----------------------------------------------------------------------


def parsed(column: Column, source: str | None = None) -> str:
    """The text column parsed to its contract type (null where it does not parse)."""
    text = f"nullif(trim(cast({source or q(column.name)} as varchar)), '')"
    match column.kind:
        case "str" | "code":
            return text
        case "int":
            return f"try_cast({text} as bigint)"
        case "money":
            return f"try_cast({text} as decimal(18, 2))"
        case "float":
            return f"try_cast({text} as double)"
        case "date":
            return f"try_strptime({text}, '%Y-%m-%d')::date"
        case "timestamp":
            return f"try_cast(replace({text}, 'T', ' ') as timestamp)"
        case "timestamptz":
            return f"timezone('Asia/Shanghai', try_cast({text} as timestamptz))"
        case "bool":
            return (
                f"case when lower({text}) in {_TRUE} then true "
                f"when lower({text}) in {_FALSE} then false end"
            )
    raise ValueError(column.kind)


def checks(column: Column) -> list[tuple[str, str]]:
    """(rule, SQL condition) of one column, as ``ingestion.validation`` states them; the
    condition reads the raw text as ``t_<name>`` and the typed value as ``v_<name>``."""
    raw, typed = f"t_{column.name}", f"v_{column.name}"
    blank = f"nullif(trim({raw}), '') is null"
    out: list[tuple[str, str]] = []
    if column.required:
        out.append(("missing_required", blank))
    out.append(("wrong_type", f"not ({blank}) and {typed} is null"))
    if column.domain is not None:
        legal = ", ".join(lit(c) for c in sorted(codes(column.domain)))
        out.append(("unknown_code", f"cast({typed} as varchar) not in ({legal})"))
    if column.kind in ("date", "timestamp", "timestamptz"):
        day = typed if column.kind == "date" else f"cast({typed} as date)"
        if column.event_date:
            out.append(("future_date", f"{day} > current_date"))
        out.append(("date_before_1949", f"{day} < date {lit(EARLIEST_DATE)}"))
    if column.kind == "money":
        out.append(("negative_money", f"{typed} < 0"))
    if column.min_value is not None:
        rule = "person_times_lt_1" if column.name == "person_times" else "out_of_range"
        out.append((rule, f"{typed} < {column.min_value}"))
    return out


def judged_sql(entity: Entity, source: str, nested: list[tuple[str, str, str]] = ()) -> str:
    """``source`` (text columns named like the contract) typed, with ``_reject_rule`` and
    ``_reject_column``: the first rule each row breaks, in the pipeline's rule order;
    ``nested`` adds (rule, column, condition) rules over nested JSON parts."""
    columns = [c for c in entity.columns if not c.pii]
    rules = sorted(
        [*((rule, c.name, cond) for c in columns for rule, cond in checks(c)), *nested],
        key=lambda r: RULE_ORDER.index(r[0]) if r[0] in RULE_ORDER else 99,
    )
    first_rule = " ".join(f"when coalesce({cond}, false) then {lit(r)}" for r, _, cond in rules)
    first_col = " ".join(f"when coalesce({cond}, false) then {lit(n)}" for _, n, cond in rules)
    texts = ", ".join(f"cast({q(c.name)} as varchar) as t_{c.name}" for c in columns)
    typed = ", ".join(f"{parsed(c, 't_' + c.name)} as v_{c.name}" for c in columns)
    return f"""
        select *, case {first_rule} end as _reject_rule, case {first_col} end as _reject_column
        from (select *, {typed} from (select *, {texts} from {source}))
    """


class Ingest:
    """One source's entities into ``raw.<entity>_current`` tables shaped like ``like``'s."""

    def __init__(self, con: duckdb.DuckDBPyConnection, like: dict[str, list[tuple[str, str]]]):
        self.con = con
        self.like = like
        self.rows: dict[str, dict[str, int]] = {}
        con.execute("create schema if not exists raw")
        # A first load deletes nothing, but the models read the (empty) deletion log.
        con.execute(
            "create table if not exists raw.deletions (source varchar, entity varchar, "
            "record_key varchar, _load_id varchar, _loaded_at timestamp)"
        )
        con.execute(
            "create table if not exists raw.quarantine (source varchar, entity varchar, "
            "record_key varchar, rule varchar, column_name varchar, source_file varchar)"
        )

    def load(
        self,
        entity: Entity,
        source: str,
        derived: dict[str, str] | None = None,
        flags: dict[str, str] | None = None,
        order: list[str] | None = None,
        nested: list[tuple[str, str, str]] = (),
    ) -> None:
        """Type and check ``source``, quarantine rejected rows, keep the latest version per
        key (``order``: the cursor first) and write the raw table.

        ``derived`` are raw columns computed over the typed row (``v_<name>`` columns and
        the source's own); ``flags`` the quality flags (name: condition over the same).
        """
        con = self.con
        judged = f"judged_{entity.name}"
        con.execute(
            f"create or replace temp table {judged} as {judged_sql(entity, source, nested)}"
        )
        con.execute(
            f"insert into raw.quarantine select {lit(entity.source)}, {lit(entity.name)}, "
            f"cast(t_{entity.key} as varchar), _reject_rule, _reject_column, _source_file "
            f"from {judged} where _reject_rule is not null"
        )
        exprs: dict[str, str] = {c.name: f"v_{c.name}" for c in entity.columns if not c.pii}
        exprs.update(derived or {})
        flag_list = ", ".join(
            f"case when coalesce({cond}, false) then {lit(name)} end"
            for name, cond in (flags or {}).items()
        )
        exprs["_quality_flags"] = f"list_filter([{flag_list}]::varchar[], lambda f: f is not null)"
        exprs.setdefault("_record_key", f"v_{entity.key}")
        content = [c.name for c in entity.columns if not c.pii]
        exprs["_row_hash"] = (
            "md5(concat_ws('|', "
            + ", ".join(f"cast({exprs[c]} as varchar)" for c in content)
            + "))"
        )
        exprs["_load_id"] = "'limit'"
        exprs["_loaded_at"] = "localtimestamp"
        exprs["_is_deleted"] = "false"  # and _deleted_at null: nothing deleted yet
        select = ", ".join(
            f"cast({exprs.get(name, 'null')} as {dtype}) as {q(name)}"
            for name, dtype in self.like[entity.name]
        )
        ordering = ", ".join(f"{o} desc nulls last" for o in order) if order else "1"
        con.execute(
            f"create or replace table raw.{entity.name}_current as select {select} from ("
            f"select *, row_number() over (partition by {exprs['_record_key']} "
            f"order by {ordering}) as __rn from {judged} where _reject_rule is null) "
            f"where __rn = 1"
        )
        con.execute(f"drop table {judged}")
        # One full load: the history of versions is the current rows (the SCD2 models read it).
        con.execute(
            f"create or replace view raw.{entity.name} as select * exclude "
            f"(_is_deleted, _deleted_at) from raw.{entity.name}_current"
        )
        rows = con.execute(f"select count(*) from raw.{entity.name}_current").fetchall()[0][0]
        rejected = con.execute(
            "select count(*) from raw.quarantine where entity = ?", [entity.name]
        ).fetchall()[0][0]
        self.rows[entity.name] = {"rows": rows, "rejected": rejected}


def _person(id_col: str, phone_col: str | None, id_type: str | None = None) -> dict[str, str]:
    resident = f"{id_type} = 'RESIDENT_ID'" if id_type else f"length(trim({id_col})) = 18"
    valid = f"id_ok({id_col})"
    out = {
        "id_number_hmac": f"hmac_hex({id_col})",
        "id_valid": f"case when {resident} and norm({id_col}) is not null then {valid} end",
        "id_birth_date": f"case when {resident} and {valid} then id_birth({id_col}) end",
        "id_gender": f"case when {resident} and {valid} then id_sex({id_col}) end",
    }
    if phone_col:
        out |= {"phone_hmac": f"hmac_hex({phone_col})", "phone_valid": f"phone_ok({phone_col})"}
    return out


def ingest_membership(ingest: Ingest, sources: Path) -> None:
    from adbc_driver_sqlite import dbapi

    with dbapi.connect(str(sources / "membership.db")) as sqlite:
        for entity in (UNION_ORG, MEMBER, MEMBERSHIP_EVENT, HONOR):
            cur = sqlite.cursor()
            # ADBC types a column by its first batch, and a null there reads as an integer:
            # text with '' for null, which the checks read as null like the pipeline does.
            names = ", ".join(
                f"coalesce(cast({q(c)} as text), '') as {q(c)}" for c in entity.column_names
            )
            cur.execute(f"select {names} from {q(entity.name)}")
            reader = cur.fetch_record_batch()
            view = f"src_{entity.name}"
            ingest.con.register(view, reader)
            source = f"(select *, 'membership.db' as _source_file from {view})"
            if entity is MEMBER:
                person = _person("id_number", "phone", "v_id_type")
                flags = {
                    "invalid_id_check": f"({person['id_valid']}) = false",
                    "gender_mismatch": f"({person['id_gender']}) <> v_gender",
                    "invalid_phone": f"({person['phone_valid']}) = false",
                }
                ingest.load(entity, source, person, flags, ["v_updated_at"])
            elif entity is UNION_ORG:
                flags = {"invalid_uscc_check": "not uscc_ok(union_uscc) "
                         "or not uscc_ok(employer_uscc)"}  # fmt: skip
                ingest.load(entity, source, None, flags, ["v_updated_at"])
            else:
                ingest.load(entity, source, None, None, [f"v_{entity.cursor}"])
            ingest.con.unregister(view)
            cur.close()


def _claimants(column: str) -> str:
    fields = ", ".join(
        f"{lit(k)}: {v}"
        for k, v in {
            "member_id": "nullif(trim(c.member_id), '')",
            "id_number_hmac": "hmac_hex(c.id_number)",
            "id_valid": "case when length(trim(c.id_number)) = 18 then id_ok(c.id_number) end",
            "id_birth_date": "case when id_ok(c.id_number) then id_birth(c.id_number) end",
            "id_gender": "case when id_ok(c.id_number) then id_sex(c.id_number) end",
            "phone_hmac": "hmac_hex(c.phone)",
            "phone_valid": "phone_ok(c.phone)",
            "employment_form": "c.employment_form",
            "new_form_type": "nullif(trim(c.new_form_type), '')",
        }.items()
    )
    return f"list_transform({column}, lambda c: {{{fields}}})"


def _codes(domain: str) -> str:
    return "[" + ", ".join(lit(c) for c in sorted(codes(domain))) + "]"


def _case_nested_rules() -> list[tuple[str, str, str]]:
    """The rules ``ingestion.disputes.records`` applies to a case's lists."""
    at = "try_cast(e.at as timestamptz)"
    return [
        ("missing_required", "claim_types", "claim_types is null"),
        ("unknown_code", "claim_types", f"len(claim_types) = 0 or list_bool_or(list_transform("
         f"claim_types, lambda c: not list_contains({_codes('claim_type')}, c)))"),
        ("missing_required", "events", "events is null"),
        ("unknown_code", "events", f"list_bool_or(list_transform(events, "
         f"lambda e: not list_contains({_codes('case_event_type')}, e.type)))"),
        ("wrong_type", "events", f"list_bool_or(list_transform(events, lambda e: {at} is null))"),
        ("future_date", "events", f"list_bool_or(list_transform(events, "
         f"lambda e: cast(timezone('Asia/Shanghai', {at}) as date) > current_date))"),
        ("missing_required", "claimants", "claimants is null"),
        ("unknown_code", "claimants", f"list_bool_or(list_transform(claimants, "
         f"lambda c: not list_contains({_codes('employment_form')}, c.employment_form)))"),
    ]  # fmt: skip


CLAIMANT_JSON_FIELDS = (
    "member_id", "name", "id_number", "phone", "employment_form", "new_form_type",
)  # fmt: skip


def _json_lines(files: list[str], structure: str) -> str:
    """The export files' records: each line read as text by ``read_csv`` (one pass over all
    files, 5x faster than ``read_json`` with a column spec over 1,800 small files), parsed by
    ``json_transform``; a malformed line has no record and is left out."""
    lines = (
        f"read_csv({files}, columns = {{'line': 'varchar'}}, header = false, delim = '\\x01', "
        f"quote = '', escape = '', auto_detect = false, filename = true)"
    )
    return (
        f"(select filename as _source_file, unnest(json_transform(line, {lit(structure)})) "
        f"from {lines} where json_valid(line))"
    )


def ingest_disputes(ingest: Ingest, sources: Path) -> None:
    folder = sources / "disputes"
    case_files = sorted(glob.glob(str(folder / "cases-*.jsonl*")))
    hotline_files = sorted(glob.glob(str(folder / "hotline-*.jsonl*")))
    case_files = [f for f in case_files if not f.endswith(".part")]
    hotline_files = [f for f in hotline_files if not f.endswith(".part")]
    structure: dict[str, object] = {c.name: "VARCHAR" for c in CASE.columns}
    structure |= {
        "employer": {"uscc": "VARCHAR", "name": "VARCHAR", "industry_code": "VARCHAR"},
        "claimants": [dict.fromkeys(CLAIMANT_JSON_FIELDS, "VARCHAR")],
        "events": [{"type": "VARCHAR", "at": "VARCHAR"}],
        "claim_types": ["VARCHAR"],
    }  # fmt: skip
    cases = (
        f"(select *, employer.uscc as employer_uscc, employer.name as employer_name, "
        f"employer.industry_code as employer_industry_code "
        f"from {_json_lines(case_files, json.dumps(structure))})"
    )
    events = (
        "list_transform(events, lambda e: {'type': e.type, "
        "'at': timezone('Asia/Shanghai', try_cast(e.at as timestamptz))})"
    )
    ingest.load(
        CASE_SHAPE.checked,
        cases,
        {
            "employer_uscc": "nullif(trim(employer_uscc), '')",
            "employer_name": "employer_name",
            "employer_industry_code": "employer_industry_code",
            "claim_types": "claim_types",
            "events": events,
            "claimants": _claimants("claimants"),
            "_source_file": "_source_file",
        },
        {
            "invalid_uscc_check": "not uscc_ok(employer_uscc)",
            "invalid_id_check": "list_bool_or(list_transform(claimants, "
            "lambda c: length(trim(c.id_number)) = 18 and not id_ok(c.id_number)))",
            "invalid_phone": "list_bool_or(list_transform(claimants, "
            "lambda c: not phone_ok(c.phone)))",
        },
        ["v_updated_at", "_source_file"],
        _case_nested_rules(),
    )
    fields = {c.name: "VARCHAR" for c in HOTLINE_REQUEST.columns}
    fields = {k: v for k, v in fields.items() if k not in ("caller_member_id", "caller_phone")}
    fields["caller"] = {"member_id": "VARCHAR", "phone": "VARCHAR"}  # type: ignore[assignment]
    hotline = (
        f"(select *, caller.member_id as caller_member_id, caller.phone as caller_phone "
        f"from {_json_lines(hotline_files, json.dumps(fields))})"
    )
    ingest.load(
        HOTLINE_REQUEST,
        hotline,
        {
            "caller_phone_hmac": "hmac_hex(caller_phone)",
            "caller_phone_valid": "phone_ok(caller_phone)",
            "_source_file": "_source_file",
        },
        {"invalid_phone": "not phone_ok(caller_phone)"},
        ["v_updated_at", "_source_file"],
    )


MARKER = "#FILE#"


def _known_columns(text: str, columns: list[str]) -> str:
    """A CSV body with only the contract's ``columns``, in order (rare: a drifted header)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in csv.DictReader(io.StringIO(text)):
        writer.writerow([record.get(c) or "" for c in columns])
    return buffer.getvalue()


def _concatenated(paths: list[str], columns: list[str], target: Path) -> Path:
    """Every delivery file in one UTF-8 CSV: DuckDB's ``read_csv`` pays ~0.7 ms a file, 20 s
    for the 28,881 files of any scale, so the bodies are concatenated (GB18030 files
    transcoded, which DuckDB cannot do without the ``encodings`` extension), each preceded by
    a marker row naming its file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    filler = "," * (len(columns) - 1)
    with target.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(columns) + "\n")
        for path in paths:
            data = Path(path).read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            header, _, body = text.partition("\n")
            if header.strip() != ",".join(columns):
                body = _known_columns(text, columns)  # schema drift: load what is known
            out.write(f'"{MARKER}{path}"{filler}\n')
            out.write(body if body.endswith("\n") or not body else body + "\n")
    return target


def _csv(paths: list[str], columns: list[str]) -> str:
    spec = "{" + ", ".join(f"{lit(c)}: 'varchar'" for c in columns) + "}"
    return (
        f"read_csv({paths}, header = true, columns = {spec}, filename = true, "
        f"ignore_errors = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"')"
    )


def ingest_services(ingest: Ingest, sources: Path, scratch: Path) -> None:
    landing = sources / "landing"
    for entity, folder in ((PROGRAM, "programs"), (STATION, "stations")):
        newest = sorted(glob.glob(str(landing / folder / "*.csv")))[-1:]
        source = f"(select *, filename as _source_file from {_csv(newest, entity.column_names)})"
        ingest.load(entity, source, {"_source_file": "_source_file"}, None, None)
    files = sorted(glob.glob(str(landing / "deliveries" / "*" / "deliveries-*.csv")))
    big = _concatenated(files, DELIVERY.column_names, scratch / "deliveries.csv")
    marked = (
        f"(select *, row_number() over () as __n from {_csv([str(big)], DELIVERY.column_names)})"
    )
    file_of = (
        f"last_value(case when starts_with(delivery_id, '{MARKER}') then "
        f"substr(delivery_id, {len(MARKER) + 1}) end ignore nulls) over (order by __n)"
    )
    deliveries = (
        f"(select * exclude (__n, __file), __file as _source_file from (select *, "
        f"{file_of} as __file from {marked}) "
        f"where not coalesce(starts_with(delivery_id, '{MARKER}'), false))"
    )
    group = "regexp_replace(_source_file, '(-r[0-9]+)?\\.csv$', '')"
    revision = (
        "coalesce(try_cast(regexp_extract(_source_file, '-r([0-9]+)\\.csv$', 1) as bigint), 1)"
    )
    revised = (
        f"(select *, {group} as _file_group, {revision} as _revision from {deliveries} "
        f"qualify {revision} = max({revision}) over (partition by {group}))"
    )
    ingest.load(
        DELIVERY,
        revised,
        {"_source_file": "_source_file", "_file_group": "_file_group", "_revision": "_revision"},
        None,
        ["v_recorded_at", "_source_file"],
    )
    import pyarrow as pa
    from fastexcel import read_excel

    tables = []
    for path in sorted(glob.glob(str(landing / "station_visits" / "*.xlsx"))):
        sheet = pa.Table.from_batches([read_excel(path).load_sheet(0, dtypes="string").to_arrow()])
        renamed = sheet.rename_columns([STATION_VISIT_HEADERS.get(str(h).strip(), str(h))
                                        for h in sheet.column_names])  # fmt: skip
        cols = STATION_VISIT.column_names
        tables.append(renamed.select(cols).append_column(
            "_source_file", pa.array([path] * renamed.num_rows, pa.string())))  # fmt: skip
    visits = pa.concat_tables(tables)
    ingest.con.register("src_station_visit", visits)
    ingest.load(
        STATION_VISIT,
        # Excel keeps dates as day serials; calamine renders date cells as midnight.
        "(select * replace (regexp_replace(trim(visit_date), "
        "'^([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]00:00:00$', '\\1') as visit_date) "
        "from src_station_visit where coalesce(station_id, visit_date, visits) is not null)",
        {
            "_record_key": "v_station_id || '|' || cast(v_visit_date as varchar)",
            "_source_file": "_source_file",
        },
        None,
        ["_source_file"],
    )


# --- dbt: the compiled SQL in dependency order ------------------------------------------------


def _toposort(nodes: dict[str, dict[str, Any]]) -> list[str]:
    pending = {
        uid: {d for d in n["depends_on"].get("nodes", []) if d in nodes} for uid, n in nodes.items()
    }
    users: dict[str, list[str]] = defaultdict(list)
    for uid, deps in pending.items():
        for dep in deps:
            users[dep].append(uid)
    ready = deque(sorted(uid for uid, deps in pending.items() if not deps))
    order: list[str] = []
    while ready:
        uid = ready.popleft()
        order.append(uid)
        for user in users[uid]:
            pending[user].discard(uid)
            if not pending[user]:
                ready.append(user)
    if len(order) != len(nodes):
        raise RuntimeError("the dbt graph has a cycle")
    return order


def run_dbt(con: duckdb.DuckDBPyConnection, target: Path, like: Path) -> dict[str, object]:
    """Seeds, models and data tests of ``target/manifest.json``; seed column types are read
    from ``like`` (the pipeline's warehouse) so codes stay text as dbt typed them."""
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in ("seed", "model") and n["package_name"] == "union_warehouse"
    }
    con.execute(f"attach {lit(like)} as pipeline (read_only)")
    counts: dict[str, Any] = {"seeds": 0, "views": 0, "tables": 0, "tests": 0}
    failing: list[str] = []
    for schema in sorted({n["schema"] for n in nodes.values()}):
        con.execute(f"create schema if not exists {q(schema)}")
    for uid in _toposort(nodes):
        node = nodes[uid]
        relation = f"{q(node['schema'])}.{q(node['alias'])}"
        if node["resource_type"] == "seed":
            types = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = 'pipeline' and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [node["schema"], node["alias"]],
            ).fetchall()
            spec = "{" + ", ".join(f"{lit(c)}: {lit(t)}" for c, t in types) + "}"
            path = DBT_PROJECT / node["original_file_path"]
            con.execute(
                f"create table {relation} as select * from read_csv({lit(path)}, "
                f"header = true, columns = {spec})"
            )
            counts["seeds"] += 1
            continue
        sql = node["compiled_code"]
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        con.execute(f"create or replace {kind} {relation} as {sql}")
        counts["views" if kind == "view" else "tables"] += 1
    con.execute("detach pipeline")
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("compiled_code"):
            continue
        failures = con.execute(f"select count(*) from ({node['compiled_code']})").fetchall()[0][0]
        counts["tests"] += 1
        if failures:
            failing.append(node["name"])
    counts["failing_tests"] = failing
    return counts


def _relation_names_local(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    # The compiled SQL names relations "<catalog>"."schema"."name" with the pipeline's
    # catalog (the warehouse file's stem); the limit's file is opened under that name.
    current = con.execute("select current_database()").fetchall()[0][0]
    if current != catalog:
        raise RuntimeError(f"open the limit's warehouse as {catalog!r}.duckdb (is {current!r})")


# --- quality and publication ------------------------------------------------------------------


def run_quality(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    from quality.config import load_thresholds
    from quality.mart_suites import mart_suites
    from quality.raw_suites import raw_suites

    thresholds = load_thresholds()
    rows, skipped = 0, []
    suites = [*raw_suites(), *mart_suites()]
    for suite in suites:
        sql = suite.query(thresholds)
        if "meta." in sql:
            # Volume and freshness read the pipeline's load log, which DuckDB alone lacks;
            # they are aggregates over a few rows per load.
            skipped.append(suite.gx_name)
            continue
        reader = con.execute(sql).to_arrow_reader(1_000_000)
        rows += sum(batch.num_rows for batch in reader)
    return {"suites": len(suites) - len(skipped), "skipped": len(skipped), "rows": rows}


def run_publish(con: duckdb.DuckDBPyConnection, serving: Path) -> dict[str, object]:
    serving.unlink(missing_ok=True)
    con.execute(f"attach {lit(serving)} as serving (storage_version 'v1.5.0')")
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = 'marts' order by 1"
    ).fetchall()
    con.execute("create schema serving.marts")
    for (name,) in tables:
        con.execute(f"create table serving.marts.{q(name)} as select * from marts.{q(name)}")
    con.execute("detach serving")
    fd = os.open(serving, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return {"tables": len(tables)}


def _like(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The pipeline's raw ``<entity>_current`` columns and types, by entity."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name like '%\\_current' escape '\\' "
            "order by table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table, column, dtype in rows:
        out[table.removesuffix("_current")].append((column, dtype))
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["ingest", "dbt", "quality", "publish"])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--source", choices=["membership", "disputes", "services"])
    parser.add_argument("--sources", type=Path)
    parser.add_argument("--like", type=Path, help="the pipeline's warehouse (schema only)")
    parser.add_argument("--target", type=Path, help="the pipeline's dbt target directory")
    parser.add_argument("--serving", type=Path)
    args = parser.parse_args(argv)

    start, cpu = time.perf_counter(), time.process_time()
    args.warehouse.parent.mkdir(parents=True, exist_ok=True)
    like = _like(args.like) if args.stage == "ingest" else {}
    with duckdb.connect(str(args.warehouse)) as con:
        create_macros(con, os.environ.get(PII_KEY_ENV, "bench-key").encode())
        summary: dict[str, object]
        if args.stage == "ingest":
            ingest = Ingest(con, like)
            if args.source == "membership":
                ingest_membership(ingest, args.sources)
            elif args.source == "disputes":
                ingest_disputes(ingest, args.sources)
            else:
                ingest_services(ingest, args.sources, args.warehouse.parent / "scratch")
            summary = {"entities": ingest.rows}
        elif args.stage == "dbt":
            _relation_names_local(con, args.like.stem)
            summary = run_dbt(con, args.target, args.like)
        elif args.stage == "quality":
            summary = run_quality(con)
        else:
            summary = run_publish(con, args.serving)
        con.execute("checkpoint")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary |= {
        "stage": args.stage,
        "source": args.source,
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_rss_gib": round(usage.ru_maxrss / 1024**2, 2),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
