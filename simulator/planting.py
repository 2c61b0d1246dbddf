"""Planted bad input: one or more records of every rejected, flagged and reconciled kind the
contract lists, plus hard deletes. Every plant is recorded (kind -> keys) in the manifest so
tests can assert exactly what the pipeline must quarantine, flag or reconcile.

Flagged and reconciled records are real records: they live in the world and count. Rejected
records never enter the world; they exist only in the published sources."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from simulator import calibration as cal
from simulator.identifiers import corrupt_check_char
from simulator.membership import end_of
from simulator.writers import (
    DELIVERY_COLUMNS,
    VISIT_HEADERS,
    delivery_path,
    delivery_rows,
    encode_csv,
    insert_rows,
    write_xlsx,
)

Entry = dict[str, Any]
UTF8_DISTRICT = "110105"
# Revising 2023 rows changes only 2023 figures, except rows of the APP channel, which count
# in the cumulative APP KPI of every later year.
NOT_CUMULATIVE = ("care", "care_new_form", "new_form", "culture", "skills", "other")
GB_DISTRICT = "110111"


def entry(
    source: str, entity: str, treatment: str, rule: str, key: str | None, **extra: Any
) -> Entry:
    return {
        "source": source,
        "entity": entity,
        "treatment": treatment,
        "rule": rule,
        "key": key,
        **extra,
    }


def _choose(rng: np.random.Generator, values: list[Any], k: int) -> list[Any]:
    idx = rng.choice(len(values), min(k, len(values)), replace=False)
    return [values[i] for i in sorted(idx)]


def _replace(df: pl.DataFrame, key: str, keys: list[str], **values: Any) -> pl.DataFrame:
    hit = pl.col(key).is_in(keys)
    return df.with_columns(
        **{
            c: pl.when(hit)
            .then(pl.lit(v) if not isinstance(v, pl.Expr) else v)
            .otherwise(pl.col(c))
            for c, v in values.items()
        }
    )


# --- In the world: flagged values, unknown keys, PII in remarks, deletions before any load ----


def plant_in_world(world: Any, rng: np.random.Generator) -> list[Entry]:
    out: list[Entry] = []
    residents = world.members.filter(pl.col("legacy") & (pl.col("id_type") == "RESIDENT_ID"))
    picks = _choose(rng, residents["member_id"].to_list(), 8)
    bad_id, mismatch, bad_phone, deleted = picks[0:2], picks[2:4], picks[4:6], picks[6:8]

    m = world.members
    corrupted = corrupt_check_char(
        m.filter(pl.col("member_id").is_in(bad_id))["id_number"].to_list()
    )
    mapping = dict(
        zip(
            m.filter(pl.col("member_id").is_in(bad_id))["member_id"].to_list(),
            corrupted,
            strict=True,
        )
    )
    m = m.with_columns(
        id_number=pl.col("member_id").replace_strict(mapping, default=pl.col("id_number")),
        gender=pl.when(pl.col("member_id").is_in(mismatch))
        .then(pl.when(pl.col("gender") == "M").then(pl.lit("F")).otherwise(pl.lit("M")))
        .otherwise(pl.col("gender")),
        phone=pl.when(pl.col("member_id").is_in(bad_phone))
        .then(pl.col("phone").str.slice(0, 10))
        .otherwise(pl.col("phone")),
    )
    out += [
        entry("membership", "member", "flagged", "invalid_id_check", k, column="id_number")
        for k in bad_id
    ]
    out += [
        entry("membership", "member", "flagged", "gender_mismatch", k, column="gender")
        for k in mismatch
    ]
    out += [
        entry("membership", "member", "flagged", "invalid_phone", k, column="phone")
        for k in bad_phone
    ]

    # Entered in error and hard-deleted before the warehouse ever saw them; other systems
    # still reference them, so they arrive as keys the warehouse does not know.
    world.members = m.filter(~pl.col("member_id").is_in(deleted))
    world.events = world.events.filter(~pl.col("member_id").is_in(deleted))
    out += [entry("membership", "member", "reconciled", "deleted_before_load", k) for k in deleted]

    legacy_unions = world.unions.filter(
        pl.col("parent_union_id").is_not_null() & (pl.col("founded_on") < pl.lit(cal.HISTORY_START))
    )
    singles = legacy_unions.filter(pl.col("union_type") == "SINGLE")["union_id"].to_list()
    u_bad = _choose(rng, singles, 2)
    u = world.unions
    for key, column in zip(u_bad, ("union_uscc", "employer_uscc"), strict=True):
        value = u.filter(pl.col("union_id") == key)[column].item()
        u = _replace(u, "union_id", [key], **{column: corrupt_check_char([value])[0]})
        out.append(
            entry("membership", "union_org", "flagged", "invalid_uscc_check", key, column=column)
        )
    world.unions = u

    # Disputes: flagged employer USCC, claimant ID and phone; unknown union keys.
    known = world.cases.filter(pl.col("received_at") < pl.lit(dt.datetime(2024, 1, 1)))
    case_keys = _choose(rng, known["case_id"].to_list(), 4)
    c = world.cases
    uscc = c.filter(pl.col("case_id") == case_keys[0])["employer_uscc"].item()
    c = _replace(c, "case_id", [case_keys[0]], employer_uscc=corrupt_check_char([uscc])[0])
    out.append(
        entry(
            "disputes",
            "case",
            "flagged",
            "invalid_uscc_check",
            case_keys[0],
            column="employer.uscc",
        )
    )

    def edit_first_claimant(df: pl.DataFrame, key: str, field: str, fn: Any) -> pl.DataFrame:
        claimants = df.filter(pl.col("case_id") == key)["claimants"].item().to_list()
        claimants[0][field] = fn(claimants[0][field])
        dtype = df.schema["claimants"]
        return df.with_columns(
            claimants=pl.when(pl.col("case_id") == key)
            .then(pl.lit(pl.Series([claimants], dtype=dtype)))
            .otherwise(pl.col("claimants"))
        )

    c = edit_first_claimant(c, case_keys[1], "id_number", lambda v: corrupt_check_char([v])[0])
    out.append(
        entry(
            "disputes",
            "case",
            "flagged",
            "invalid_id_check",
            case_keys[1],
            column="claimants.id_number",
        )
    )
    c = edit_first_claimant(c, case_keys[2], "phone", lambda v: v + "9")
    out.append(
        entry(
            "disputes", "case", "flagged", "invalid_phone", case_keys[2], column="claimants.phone"
        )
    )
    c = _replace(c, "case_id", [case_keys[3]], handling_union_id="U99999998")
    out.append(
        entry(
            "disputes",
            "case",
            "reconciled",
            "unknown_union",
            case_keys[3],
            column="handling_union_id",
        )
    )
    world.cases = c

    old_requests = world.hotline.filter(
        (pl.col("received_at") < pl.lit(dt.datetime(2024, 1, 1)))
        & pl.col("assigned_union_id").is_not_null()
    )["request_id"].to_list()
    req = _choose(rng, old_requests, 2)
    h = _replace(
        world.hotline, "request_id", [req[0]], caller_phone=pl.col("caller_phone").str.slice(0, 9)
    )
    h = _replace(h, "request_id", [req[1]], assigned_union_id="U99999997")
    world.hotline = h
    out.append(
        entry(
            "disputes", "hotline_request", "flagged", "invalid_phone", req[0], column="caller.phone"
        )
    )
    out.append(
        entry(
            "disputes",
            "hotline_request",
            "reconciled",
            "unknown_union",
            req[1],
            column="assigned_union_id",
        )
    )

    # Services: keys not (yet) known, and a remark that holds a phone number.
    d = world.deliveries
    base_2024 = d.filter(
        (pl.col("recorded_at").dt.year() == 2024) & (pl.col("stratum") == "other")
    )["delivery_id"].to_list()
    dk = _choose(rng, base_2024, 4)
    d = _replace(d, "delivery_id", [dk[0]], member_id=deleted[0])
    d = _replace(d, "delivery_id", [dk[1]], station_id="S999999")
    d = _replace(d, "delivery_id", [dk[2]], program_code="P999999")
    phone = "13912345678"
    d = _replace(d, "delivery_id", [dk[3]], remark=f"联系人电话{phone}，请回访")
    world.deliveries = d
    out.append(
        entry("services", "delivery", "reconciled", "unknown_member", dk[0], column="member_id")
    )
    out.append(
        entry("services", "delivery", "reconciled", "unknown_station", dk[1], column="station_id")
    )
    out.append(
        entry("services", "delivery", "reconciled", "unknown_program", dk[2], column="program_code")
    )
    out.append(
        entry(
            "services", "delivery", "reconciled", "pii_in_remark", dk[3], column="remark", pii=phone
        )
    )
    return out


# --- In the published sources: rejected records, duplicates, drift, .part files, revisions ---


def plant_in_outputs(
    out: Path,
    engine: sa.Engine,
    world: Any,
    rng: np.random.Generator,
    as_of: dt.date,
    services: bool = True,
) -> list[Entry]:
    """Every plant in the published sources; without ``services`` (the landing directory holds
    no deliveries or visits yet) the delivery and visit plants wait for ``plant_services``."""
    entries = _plant_membership(engine, world, as_of)
    entries += _plant_disputes(out / "disputes", world)
    if not services:
        return entries + _plant_catalogue(out / "landing")
    entries += _plant_deliveries(out / "landing", world)
    entries += _plant_catalogue(out / "landing")
    return entries + _plant_activity(out / "landing", world, rng)


def plant_services(root: Path, world: Any, rng: np.random.Generator) -> list[Entry]:
    """The delivery and visit plants, once the landing directory holds deliveries and visits."""
    return _plant_deliveries(root, world) + _plant_activity(root, world, rng)


def _plant_activity(root: Path, world: Any, rng: np.random.Generator) -> list[Entry]:
    return _plant_visits(root, world) + revise_delivery_file(
        root, world, rng, dt.date(2023, 6, 30), dt.date(2023, 7, 31), NOT_CUMULATIVE
    )


def _plant_membership(engine: sa.Engine, world: Any, as_of: dt.date) -> list[Entry]:
    from simulator.writers import membership_tables

    tables = membership_tables(world, as_of)
    stamp = dt.datetime.combine(as_of, dt.time(10, 0))
    out: list[Entry] = []

    unions = tables["union_org"].tail(1)
    bad_unions = [
        ("U90000001", "unknown_code", "district_code", {"district_code": "999999"}),
        ("U90000002", "unknown_code", "union_type", {"union_type": "COOPERATIVE"}),
        ("U90000003", "future_date", "founded_on", {"founded_on": dt.date(2031, 1, 1)}),
        ("U90000004", "missing_required", "union_name", {"union_name": None}),
    ]
    rows = [
        unions.with_columns(
            union_id=pl.lit(k),
            updated_at=pl.lit(stamp),
            **{c: pl.lit(v, dtype=unions.schema[c]) for c, v in vals.items()},
        )
        for k, _, _, vals in bad_unions
    ]
    insert_rows(engine, "union_org", pl.concat(rows))
    out += [
        entry("membership", "union_org", "rejected", rule, k, column=col)
        for k, rule, col, _ in bad_unions
    ]

    members = tables["member"].filter(pl.col("id_type") == "RESIDENT_ID").tail(1)
    bad_members = [
        ("M9000000001", "unknown_code", "education", {"education": "PHD"}),
        ("M9000000002", "date_before_1949", "birth_date", {"birth_date": dt.date(1930, 5, 4)}),
        ("M9000000003", "missing_required", "union_id", {"union_id": None}),
        ("M9000000004", "future_date", "joined_on", {"joined_on": dt.date(2031, 1, 1)}),
    ]
    rows = [
        members.with_columns(
            member_id=pl.lit(k),
            updated_at=pl.lit(stamp),
            **{c: pl.lit(v, dtype=members.schema[c]) for c, v in vals.items()},
        )
        for k, _, _, vals in bad_members
    ]
    insert_rows(engine, "member", pl.concat(rows))
    out += [
        entry("membership", "member", "rejected", rule, k, column=col)
        for k, rule, col, _ in bad_members
    ]

    ev = tables["membership_event"].filter(pl.col("event_type") == "JOIN").tail(1)
    bad_events = [
        ("E900000000001", "unknown_code", "event_type", {"event_type": "TRANSFER"}),
        ("E900000000002", "future_date", "event_date", {"event_date": dt.date(2031, 5, 1)}),
        ("E900000000003", "missing_required", "member_id", {"member_id": None}),
    ]
    rows = [
        ev.with_columns(
            event_id=pl.lit(k),
            recorded_at=pl.lit(stamp),
            **{c: pl.lit(v, dtype=ev.schema[c]) for c, v in vals.items()},
        )
        for k, _, _, vals in bad_events
    ]
    insert_rows(engine, "membership_event", pl.concat(rows))
    out += [
        entry("membership", "membership_event", "rejected", rule, k, column=col)
        for k, rule, col, _ in bad_events
    ]

    hon = tables["honor"].tail(1)
    bad_honors = [
        ("A90000001", "unknown_code", "honor_type", {"honor_type": "GOLD_MEDAL"}),
        ("A90000002", "date_before_1949", "awarded_on", {"awarded_on": dt.date(1948, 4, 30)}),
    ]
    rows = [
        hon.with_columns(
            honor_id=pl.lit(k),
            updated_at=pl.lit(stamp),
            **{c: pl.lit(v, dtype=hon.schema[c]) for c, v in vals.items()},
        )
        for k, _, _, vals in bad_honors
    ]
    insert_rows(engine, "honor", pl.concat(rows))
    out += [
        entry("membership", "honor", "rejected", rule, k, column=col)
        for k, rule, col, _ in bad_honors
    ]
    return out


def _last_line(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8").splitlines()[-1])


def _append_lines(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")


def _plant_disputes(folder: Path, world: Any) -> list[Entry]:
    out: list[Entry] = []
    cases_file = _file_on_or_after(folder, "cases", dt.date(2024, 6, 11))
    hotline_file = _file_on_or_after(folder, "hotline", dt.date(2024, 6, 12))
    template = _last_line(cases_file)
    dump = lambda rec: json.dumps(rec, ensure_ascii=False, separators=(",", ":"))  # noqa: E731

    def case(key: str | None, **changes: Any) -> dict[str, Any]:
        rec = dict(template, **changes)
        if key is None:
            rec.pop("case_id")
        else:
            rec["case_id"] = key
        return rec

    lines = [
        (
            case("C2024900001", claim_types=["WAGE_ARREARS", "BRIBERY"]),
            "unknown_code",
            "claim_types",
        ),
        (case("C2024900002", claim_amount="-500.00"), "negative_money", "claim_amount"),
        (
            case("C2024900003", received_at="1948-03-01T09:00:00+08:00"),
            "date_before_1949",
            "received_at",
        ),
        (case("C2024900004", claim_amount="twelve thousand"), "wrong_type", "claim_amount"),
        (case(None), "missing_required", "case_id"),
    ]
    existing = len(cases_file.read_text(encoding="utf-8").splitlines())
    _append_lines(cases_file, [dump(rec) for rec, _, _ in lines])
    for i, (rec, rule, column) in enumerate(lines):
        out.append(
            entry(
                "disputes",
                "case",
                "rejected",
                rule,
                rec.get("case_id"),
                column=column,
                file=cases_file.name,
                line=existing + i + 1,
            )
        )
    truncated = dump(case("C2024900005"))[:120]
    _append_lines(cases_file, [truncated])
    out.append(
        entry(
            "disputes",
            "case",
            "rejected",
            "malformed_json",
            None,
            file=cases_file.name,
            line=existing + len(lines) + 1,
        )
    )
    duplicate = cases_file.read_text(encoding="utf-8").splitlines()[0]
    _append_lines(cases_file, [duplicate])
    out.append(
        entry(
            "disputes",
            "case",
            "reconciled",
            "duplicate_key",
            json.loads(duplicate)["case_id"],
            file=cases_file.name,
        )
    )

    h_template = _last_line(hotline_file)
    h_lines = [
        (
            dict(h_template, request_id="H2024990000001", category="PRAISE"),
            "unknown_code",
            "category",
        ),
        (
            dict(h_template, request_id="H2024990000002", received_at="2031-07-01T08:00:00+08:00"),
            "future_date",
            "received_at",
        ),
        (
            dict(h_template, request_id="H2024990000003", satisfaction="five"),
            "wrong_type",
            "satisfaction",
        ),
    ]
    existing = len(hotline_file.read_text(encoding="utf-8").splitlines())
    _append_lines(hotline_file, [dump(rec) for rec, _, _ in h_lines] + ["this is not json"])
    for i, (rec, rule, column) in enumerate(h_lines):
        out.append(
            entry(
                "disputes",
                "hotline_request",
                "rejected",
                rule,
                rec["request_id"],
                column=column,
                file=hotline_file.name,
                line=existing + i + 1,
            )
        )
    out.append(
        entry(
            "disputes",
            "hotline_request",
            "rejected",
            "malformed_json",
            None,
            file=hotline_file.name,
            line=existing + len(h_lines) + 1,
        )
    )

    # Schema drift: a district system started sending a field the contract does not know.
    drift = _file_on_or_after(folder, "hotline", dt.date(2024, 6, 20))
    records = [json.loads(line) for line in drift.read_text(encoding="utf-8").splitlines()]
    drift.write_text(
        "".join(dump(dict(r, priority="HIGH")) + "\n" for r in records), encoding="utf-8"
    )
    out.append(
        entry(
            "disputes",
            "hotline_request",
            "reconciled",
            "schema_drift",
            None,
            file=drift.name,
            column="priority",
        )
    )

    # Compressed export of one day, and a file still being written.
    plain = _file_on_or_after(folder, "cases", dt.date(2023, 3, 15))
    gz = plain.with_name(plain.name + ".gz")
    gz.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    plain.unlink()
    out.append(entry("disputes", "case", "reconciled", "gzip_file", None, file=gz.name))
    part = folder / "cases-20250101.jsonl.part"
    part.write_text(dump(case("C2025900001")) + "\n" + truncated, encoding="utf-8")
    out.append(entry("disputes", "case", "reconciled", "part_file", "C2025900001", file=part.name))
    return out


def _file_on_or_after(folder: Path, prefix: str, day: dt.date) -> Path:
    for path in sorted(folder.glob(f"{prefix}-????????.jsonl")):
        if path.name[len(prefix) + 1 : len(prefix) + 9] >= f"{day:%Y%m%d}":
            return path
    raise FileNotFoundError(f"no {prefix} export file on or after {day}")


def _csv_line(df: pl.DataFrame) -> str:
    return df.write_csv(include_header=False, quote_style="necessary")


def _plant_district(root: Path, preferred: str, day: dt.date, utf8: bool = False) -> str:
    """``preferred`` when it has a delivery file on or after ``day``; in a shaped world where
    it has none (one district, skewed), the district with the most files (UTF-8 ones only
    with ``utf8``: the plant appends UTF-8 text)."""
    try:
        _next_file_day(root, preferred, day)
        return preferred
    except FileNotFoundError:
        pass
    found = [
        (len(list(folder.glob("deliveries-????????.csv"))), folder.name)
        for folder in (root / "deliveries").iterdir()
        if folder.is_dir() and not (utf8 and folder.name in cal.GB18030_DISTRICTS)
    ]
    return min(found, key=lambda f: (-f[0], f[1]))[1]


def _district_encoding(district: str) -> str:
    return "gb18030" if district in cal.GB18030_DISTRICTS else "utf-8"


def _plant_deliveries(root: Path, world: Any) -> list[Entry]:
    out: list[Entry] = []
    utf8_district = _plant_district(root, UTF8_DISTRICT, dt.date(2024, 9, 10), utf8=True)
    day = _next_file_day(root, utf8_district, dt.date(2024, 9, 10))
    target = delivery_path(root, utf8_district, day)
    rows = delivery_rows(
        world.deliveries.filter(
            (pl.col("district_code") == utf8_district) & (pl.col("recorded_at").dt.date() == day)
        )
    ).drop("file_date")
    base = rows.tail(1)
    bad = [
        ("D900000000001", "person_times_lt_1", "person_times", {"person_times": 0}),
        ("D900000000002", "negative_money", "benefit_value_yuan", {"benefit_value_yuan": "-10.00"}),
        ("D900000000003", "future_date", "delivered_on", {"delivered_on": dt.date(2031, 3, 1)}),
        (
            "D900000000004",
            "date_before_1949",
            "delivered_on",
            {"delivered_on": dt.date(1948, 3, 1)},
        ),
        ("D900000000005", "unknown_code", "beneficiary_group", {"beneficiary_group": "ALIEN"}),
        ("D900000000006", "unknown_code", "district_code", {"district_code": "110199"}),
    ]
    text_lines: list[str] = []
    for key, _, _, vals in bad:
        text_lines.append(
            _csv_line(
                base.with_columns(
                    delivery_id=pl.lit(key),
                    **{c: pl.lit(v, dtype=base.schema[c]) for c, v in vals.items()},
                )
            )
        )
    as_text = base.with_columns(pl.all().cast(pl.String))
    text_lines.append(
        _csv_line(
            as_text.with_columns(
                delivery_id=pl.lit("D900000000007"), delivered_on=pl.lit("2024-13-45")
            )
        )
    )
    text_lines.append(_csv_line(as_text.with_columns(delivery_id=pl.lit(""))))
    text_lines.append(
        _csv_line(as_text.with_columns(delivery_id=pl.lit("D900000000009"))).rstrip("\n")
        + ",多出的字段\n"
    )
    existing = rows.height + 1  # header line
    with target.open("a", encoding="utf-8") as fh:
        fh.write("".join(text_lines))
    for i, (key, rule, column, _) in enumerate(bad):
        out.append(
            entry(
                "services",
                "delivery",
                "rejected",
                rule,
                key,
                column=column,
                file=str(target.relative_to(root)),
                line=existing + i + 1,
            )
        )
    extra = [
        ("D900000000007", "wrong_type", "delivered_on"),
        (None, "missing_required", "delivery_id"),
        ("D900000000009", "wrong_field_count", None),
    ]
    for j, (key, rule, column) in enumerate(extra):
        out.append(
            entry(
                "services",
                "delivery",
                "rejected",
                rule,
                key,
                column=column,
                file=str(target.relative_to(root)),
                line=existing + len(bad) + j + 1,
            )
        )

    # An identical resend of yesterday's row, in a GB18030 district's file.
    gb_day = dt.date(2024, 10, 9)
    gb_district = _plant_district(root, GB_DISTRICT, gb_day)
    gb_rows = delivery_rows(world.deliveries.filter(pl.col("district_code") == gb_district)).drop(
        "file_date"
    )
    later_day = _next_file_day(root, gb_district, gb_day)
    earlier = gb_rows.filter(pl.col("recorded_at").str.slice(0, 10) < later_day.isoformat()).tail(1)
    later_path = delivery_path(root, gb_district, later_day)
    with later_path.open("ab") as fh:
        fh.write(_csv_line(earlier).encode(_district_encoding(gb_district)))
    out.append(
        entry(
            "services",
            "delivery",
            "reconciled",
            "resend",
            earlier["delivery_id"].item(),
            file=str(later_path.relative_to(root)),
        )
    )

    # Schema drift: a district system added a column at the end.
    drift_district = _plant_district(root, UTF8_DISTRICT, dt.date(2024, 5, 20), utf8=True)
    drift_day = _next_file_day(root, drift_district, dt.date(2024, 5, 20))
    drift_path = delivery_path(root, drift_district, drift_day)
    drift = pl.read_csv(drift_path, infer_schema=False).with_columns(
        operator_note=pl.lit("窗口录入")
    )
    drift_path.write_bytes(encode_csv(drift, drift_district))
    out.append(
        entry(
            "services",
            "delivery",
            "reconciled",
            "schema_drift",
            None,
            file=str(drift_path.relative_to(root)),
            column="operator_note",
        )
    )

    part = root / "deliveries" / utf8_district / "deliveries-20250101.csv.part"
    part.write_text(
        ",".join(DELIVERY_COLUMNS)
        + "\n"
        + _csv_line(base.with_columns(delivery_id=pl.lit("D900000000010"))),
        encoding="utf-8",
    )
    out.append(
        entry(
            "services",
            "delivery",
            "reconciled",
            "part_file",
            "D900000000010",
            file=str(part.relative_to(root)),
        )
    )
    return out


def _next_file_day(root: Path, district: str, day: dt.date) -> dt.date:
    names = sorted(p.name for p in (root / "deliveries" / district).glob("deliveries-????????.csv"))
    for name in names:
        found = dt.date.fromisoformat(f"{name[11:15]}-{name[15:17]}-{name[17:19]}")
        if found >= day:
            return found
    raise FileNotFoundError(f"no delivery file of {district} on or after {day}")


def _plant_catalogue(root: Path) -> list[Entry]:
    latest = sorted((root / "programs").glob("programs-*.csv"))[-1]
    catalogue = pl.read_csv(latest, infer_schema=False)
    bad = catalogue.tail(1).with_columns(program_code=pl.lit("P900001"), category=pl.lit("FOOD"))
    latest.write_text(catalogue.vstack(bad).write_csv(), encoding="utf-8")
    return [
        entry(
            "services",
            "program",
            "rejected",
            "unknown_code",
            "P900001",
            column="category",
            file=str(latest.relative_to(root)),
        )
    ]


def _plant_visits(root: Path, world: Any) -> list[Entry]:
    month = dt.date(2024, 6, 1)
    path = root / "station_visits" / f"station-visits-{month:%Y%m}.xlsx"
    visits = world.station_visits.filter(pl.col("date").dt.truncate("1mo") == month).sort(
        "date", "station_id"
    )
    rows: list[tuple[Any, ...]] = list(visits.iter_rows())
    rows.append(("S999999", dt.date(2024, 6, 30), 12, 3, "U00000003"))
    write_xlsx(path, VISIT_HEADERS, rows)
    world.station_visits = world.station_visits.vstack(
        pl.DataFrame([rows[-1]], schema=world.station_visits.schema, orient="row")
    )
    return [
        entry(
            "services",
            "station_visit",
            "reconciled",
            "unknown_station",
            "S999999|2024-06-30",
            file=str(path.relative_to(root)),
        )
    ]


# --- Changes that `advance` makes ------------------------------------------------------------


def hard_delete(world: Any, rng: np.random.Generator, as_of: dt.date) -> list[Entry]:
    """Delete a member (and their events) that the warehouse has already loaded."""
    end = end_of(as_of)
    seen = world.events.filter(pl.col("recorded_at") <= end)["member_id"].unique().sort()
    referenced = set(world.deliveries["member_id"].drop_nulls().to_list())
    candidates = [m for m in seen.tail(2000).to_list() if m not in referenced]
    if not candidates:
        return []
    victim = candidates[int(rng.integers(0, len(candidates)))]
    world.members = world.members.filter(pl.col("member_id") != victim)
    world.events = world.events.filter(pl.col("member_id") != victim)
    return [
        entry("membership", "member", "reconciled", "hard_delete", victim, as_of_next_load=True)
    ]


def revise_delivery_file(
    root: Path,
    world: Any,
    rng: np.random.Generator,
    t0: dt.date,
    t1: dt.date,
    strata: tuple[str, ...] | None = None,
) -> list[Entry]:
    """Publish revision 2 of one delivery file recorded in (t0, t1]: one row corrected and,
    where the file has another, one row withdrawn. `strata` limits the rows touched (the base
    year touches only rows no KPI depends on, so calibrated figures hold)."""
    lo, hi = end_of(t0), end_of(t1)
    window = world.deliveries.filter((pl.col("recorded_at") > lo) & (pl.col("recorded_at") <= hi))
    if strata:
        window = window.filter(pl.col("stratum").is_in(strata))
    window = window.with_columns(file_date=pl.col("recorded_at").dt.date())
    counts = (
        window.group_by("district_code", "file_date")
        .len()
        .sort("len", "district_code", "file_date", descending=[True, False, False])
    )
    if counts.height == 0:
        return []
    pick = counts.row(int(rng.integers(0, max(1, counts.height // 4))), named=True)
    district, day = pick["district_code"], pick["file_date"]
    in_file = window.filter((pl.col("district_code") == district) & (pl.col("file_date") == day))
    corrected = in_file["delivery_id"][0]
    withdrawn = in_file["delivery_id"][1] if in_file.height > 1 else None
    world.deliveries = world.deliveries.filter(
        pl.col("delivery_id") != (withdrawn or "")
    ).with_columns(
        person_times=pl.when(pl.col("delivery_id") == corrected)
        .then(pl.col("person_times") + 2)
        .otherwise(pl.col("person_times"))
    )
    rows = delivery_rows(
        world.deliveries.filter(
            (pl.col("district_code") == district) & (pl.col("recorded_at").dt.date() == day)
        )
    ).drop("file_date")
    path = delivery_path(root, district, day, revision=2)
    path.write_bytes(encode_csv(rows, district))
    rel = str(path.relative_to(root))
    entries = [
        entry("services", "delivery", "reconciled", "revision_corrected", corrected, file=rel)
    ]
    if withdrawn:
        entries.append(
            entry("services", "delivery", "reconciled", "revision_withdrawn", withdrawn, file=rel)
        )
    return entries


def late_commit(
    engine: sa.Engine, old: dict[str, pl.DataFrame], rng: np.random.Generator
) -> list[Entry]:
    """Make one member row and one event of this window look as if their transactions committed
    late: their stamps fall just before the previous day's high-water mark (the contract allows
    up to 10 minutes), so only an extraction that overlaps its watermark finds them."""
    from simulator.writers import TABLES

    out: list[Entry] = []
    for table, key, stamp in (
        ("member", "member_id", "updated_at"),
        ("membership_event", "event_id", "recorded_at"),
    ):
        mark = old[table][stamp].max()
        t = TABLES[table]
        with engine.begin() as conn:
            fresh = (
                conn.execute(
                    sa.select(t.c[key]).where(t.c[stamp] > mark).order_by(t.c[key]).limit(50)
                )
                .scalars()
                .all()
            )
            if not fresh:
                continue
            victim = fresh[int(rng.integers(0, len(fresh)))]
            backdated = mark - dt.timedelta(seconds=int(rng.integers(60, 540)))
            conn.execute(t.update().where(t.c[key] == victim).values({stamp: backdated}))
        out.append(
            entry(
                "membership",
                table,
                "reconciled",
                "late_commit",
                victim,
                column=stamp,
                value=backdated.isoformat(sep=" "),
            )
        )
    return out
