"""The simulator plays the three source systems exactly as SOURCES.md defines them."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
import requests
import sqlalchemy as sa

from simulator import api_server
from simulator.generate import advance, generate
from simulator.reference import (
    BENEFICIARY_GROUPS,
    CLAIM_TYPES,
    EDUCATION,
    EVENT_TYPES,
    PROGRAM_CATEGORIES,
    load_reference,
)
from simulator.writers import DELIVERY_COLUMNS, VISIT_HEADERS

SCALE = 0.002
SEED = 11
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
CASE_KEYS = [
    "case_id", "case_no", "received_at", "source_channel", "district_code", "handling_union_id",
    "employer", "claimants", "is_collective", "claim_types", "claim_amount", "events", "status",
    "outcome", "recovered_amount", "legal_aid", "closed_at", "updated_at",
]  # fmt: skip
HOTLINE_KEYS = [
    "request_id", "received_at", "channel", "caller", "district_code", "category", "topic",
    "handling", "assigned_union_id", "complexity", "due_at", "closed_at", "status",
    "satisfaction", "linked_case_id", "updated_at",
]  # fmt: skip


def id_valid(value: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def uscc_valid(value: str) -> bool:
    if len(value) != 18 or any(c not in USCC_CHARS for c in value):
        return False
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(value[:17], USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31] == value[17]


def planted(manifest: dict[str, Any], treatment: str, entity: str, rule: str | None = None) -> set:
    return {
        p["key"]
        for p in manifest["planted"]
        if p["treatment"] == treatment and p["entity"] == entity and rule in (None, p["rule"])
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, SCALE, SEED, quiet=True)
    return out


@pytest.fixture(scope="module")
def manifest(demo: Path) -> dict[str, Any]:
    return json.loads((demo / "manifest.json").read_text(encoding="utf-8"))


def read_table(out: Path, table: str) -> pl.DataFrame:
    engine = sa.create_engine(f"sqlite:///{out / 'membership.db'}")
    return pl.read_database(f"select * from {table}", engine, infer_schema_length=None)


# --- Membership database ----------------------------------------------------------------------


def test_membership_tables_have_the_contract_columns(demo: Path) -> None:
    inspector = sa.inspect(sa.create_engine(f"sqlite:///{demo / 'membership.db'}"))
    assert sorted(inspector.get_table_names()) == [
        "honor",
        "member",
        "membership_event",
        "union_org",
    ]
    columns = {
        t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()
    }
    assert columns["member"] == [
        "member_id", "union_id", "name", "id_type", "id_number", "phone", "gender", "birth_date",
        "ethnicity_code", "education", "hukou_type", "from_outside_beijing", "employment_form",
        "new_form_type", "platform_name", "skill_level", "status", "joined_on", "created_at",
        "updated_at",
    ]  # fmt: skip
    assert columns["membership_event"][:3] == ["event_id", "member_id", "event_type"]
    assert columns["union_org"][-2:] == ["created_at", "updated_at"]


def test_member_values_follow_the_contract_except_planted(demo: Path, manifest: dict) -> None:
    members = read_table(demo, "member")
    rejected = planted(manifest, "rejected", "member")
    good = members.filter(~pl.col("member_id").is_in(list(rejected)))
    assert set(good["education"]) <= set(EDUCATION)
    assert set(good["ethnicity_code"]) <= set(load_reference().ethnicities)
    assert good.filter(pl.col("member_id").str.contains(r"^M\d{10}$").not_()).height == 0
    nf = good.filter(pl.col("employment_form") == "NEW_FORM")
    assert nf["new_form_type"].null_count() == 0
    assert good.filter(pl.col("employment_form") != "NEW_FORM")["new_form_type"].null_count() == (
        good.height - nf.height
    )
    residents = good.filter(pl.col("id_type") == "RESIDENT_ID")
    bad_ids = {
        m for m, v in residents.select("member_id", "id_number").iter_rows() if not id_valid(v)
    }
    assert bad_ids == planted(manifest, "flagged", "member", "invalid_id_check")
    bad_phones = set(good.filter(~pl.col("phone").str.contains(r"^1\d{10}$"))["member_id"])
    assert bad_phones == planted(manifest, "flagged", "member", "invalid_phone")
    from_id = residents.with_columns(
        id_gender=pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int32) % 2 == 1)
        .then(pl.lit("M"))
        .otherwise(pl.lit("F"))
    )
    mismatched = set(from_id.filter(pl.col("id_gender") != pl.col("gender"))["member_id"])
    assert mismatched == planted(manifest, "flagged", "member", "gender_mismatch")
    birth = from_id.filter(
        pl.col("birth_date").cast(pl.String).str.replace_all("-", "")
        != pl.col("id_number").str.slice(6, 8)
    )
    assert birth.height == 0
    assert rejected == {"M9000000001", "M9000000002", "M9000000003", "M9000000004"}
    assert not (
        planted(manifest, "reconciled", "member", "deleted_before_load") & set(members["member_id"])
    )


def test_unions_and_events_follow_the_contract_except_planted(demo: Path, manifest: dict) -> None:
    unions = read_table(demo, "union_org")
    good = unions.filter(
        ~pl.col("union_id").is_in(list(planted(manifest, "rejected", "union_org")))
    )
    assert set(good["union_type"]) == {"SINGLE", "JOINT", "FEDERATION"}
    assert set(good["district_code"]) == set(load_reference().districts)
    bad_uscc = {
        u
        for u, a, b in good.select("union_id", "union_uscc", "employer_uscc").iter_rows()
        if not uscc_valid(a) or (b is not None and not uscc_valid(b))
    }
    assert bad_uscc == planted(manifest, "flagged", "union_org", "invalid_uscc_check")
    assert (
        good.filter(pl.col("union_type") != "SINGLE")["employer_uscc"].null_count()
        == good.filter(pl.col("union_type") != "SINGLE").height
    )

    events = read_table(demo, "membership_event")
    rejected = planted(manifest, "rejected", "membership_event")
    good_events = events.filter(~pl.col("event_id").is_in(list(rejected)))
    assert set(good_events["event_type"]) <= set(EVENT_TYPES)
    assert (
        good_events.filter(
            pl.col("channel").is_not_null() & (pl.col("event_type") != "JOIN")
        ).height
        == 0
    )
    assert set(events.filter(pl.col("event_id").is_in(list(rejected)))["event_id"]) == rejected
    # Every member in the table joined exactly once.
    joins = good_events.filter(pl.col("event_type") == "JOIN").group_by("member_id").len()
    assert joins["len"].max() == 1


# --- Dispute export ---------------------------------------------------------------------------


def export_lines(folder: Path, prefix: str) -> list[tuple[str, int, str]]:
    lines = []
    for path in sorted(folder.iterdir()):
        if not path.name.startswith(prefix + "-") or path.name.endswith(".part"):
            continue
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines += [
            (path.name, i + 1, text) for i, text in enumerate(raw.decode("utf-8").splitlines())
        ]
    return lines


def export_records(folder: Path, prefix: str) -> list[tuple[str, int, dict | None]]:
    """Every export line parsed; None where the line is not JSON (planted malformed lines)."""
    out: list[tuple[str, int, dict | None]] = []
    for name, line, text in export_lines(folder, prefix):
        try:
            out.append((name, line, json.loads(text)))
        except json.JSONDecodeError:
            out.append((name, line, None))
    return out


def test_dispute_export_records_follow_the_contract(demo: Path, manifest: dict) -> None:
    folder = demo / "disputes"
    names = [p.name for p in folder.iterdir()]
    assert all(re.fullmatch(r"(cases|hotline)-\d{8}\.jsonl(\.gz|\.part)?", n) for n in names)
    assert any(n.endswith(".part") for n in names) and any(n.endswith(".gz") for n in names)
    malformed = {
        (p["file"], p["line"]) for p in manifest["planted"] if p["rule"] == "malformed_json"
    }
    rejected_cases = planted(manifest, "rejected", "case")
    seen: Counter[str] = Counter()
    bad_found = set()
    for name, line, record in export_records(folder, "cases"):
        if record is None:
            bad_found.add((name, line))
            continue
        if "case_id" not in record or record["case_id"] in rejected_cases:
            continue
        assert list(record) == CASE_KEYS
        assert set(record["claim_types"]) <= set(CLAIM_TYPES)
        assert re.fullmatch(r"\d+\.\d{2}", record["claim_amount"])
        assert record["updated_at"].endswith("+08:00") and record["received_at"].endswith("+08:00")
        assert [e["at"] for e in record["events"]] == sorted(e["at"] for e in record["events"])
        assert record["events"][-1]["at"] == record["updated_at"]
        assert (record["status"] == "CLOSED") == (record["closed_at"] is not None)
        seen[record["case_id"]] += 1
    hotline_bad = set()
    for name, line, record in export_records(folder, "hotline"):
        if record is None:
            hotline_bad.add((name, line))
            continue
        expected = HOTLINE_KEYS + (["priority"] if "priority" in record else [])
        assert list(record) == expected
    assert bad_found | hotline_bad == malformed
    # Changed records reappear in later files.
    assert max(seen.values()) >= 3
    assert sum(1 for c in seen.values() if c > 1) > len(seen) / 2


def test_legal_time_limits_are_mostly_respected(demo: Path) -> None:
    latest: dict[str, dict] = {}
    for _, _, record in export_records(demo / "disputes", "cases"):
        if record is None:
            continue
        if "case_id" in record:
            latest[record["case_id"]] = record
    durations = []
    for record in latest.values():
        at = {e["type"]: dt.datetime.fromisoformat(e["at"]) for e in record["events"]}
        if "MEDIATION_SUCCEEDED" in at:
            durations.append((at["MEDIATION_SUCCEEDED"] - at["RECEIVED"]).days)
    assert durations and sum(d <= 15 for d in durations) / len(durations) > 0.9


# --- Service landing directory ----------------------------------------------------------------


def test_delivery_files_encodings_and_columns(demo: Path, manifest: dict) -> None:
    root = demo / "landing" / "deliveries"
    drift = {
        p["file"]
        for p in manifest["planted"]
        if p["rule"] == "schema_drift" and p["source"] == "services"
    }
    revisions = list(root.glob("*/deliveries-*-r2.csv"))
    assert revisions
    for district in load_reference().districts:
        files = sorted((root / district).glob("deliveries-*.csv"))
        assert files, district
        for path in files[:40]:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
                utf8 = True
            except UnicodeDecodeError:
                text = raw.decode("gb18030")
                utf8 = False
            assert utf8 == (district not in {"110109", "110111", "110117", "110119"}), path
            header = text.split("\n", 1)[0].split(",")
            expected = list(DELIVERY_COLUMNS) + (
                ["operator_note"] if f"deliveries/{district}/{path.name}" in drift else []
            )
            assert header == expected
    sample = pl.read_csv(
        sorted((root / "110105").glob("deliveries-2024*.csv"))[0], infer_schema=False
    )
    assert set(sample["beneficiary_group"]) <= set(BENEFICIARY_GROUPS)
    assert (root / "110105" / "deliveries-20250101.csv.part").exists()


def test_catalogues_and_station_visit_workbooks(demo: Path) -> None:
    landing = demo / "landing"
    latest = sorted((landing / "programs").glob("programs-*.csv"))[-1]
    programs = pl.read_csv(latest, infer_schema=False)
    assert programs.columns == [
        "program_code", "name_zh", "name_en", "category", "channel", "start_on", "end_on",
        "owner_union_id",
    ]  # fmt: skip
    assert set(programs["category"]) - set(PROGRAM_CATEGORIES) == {"FOOD"}
    stations = pl.read_csv(
        sorted((landing / "stations").glob("stations-*.csv"))[-1], infer_schema=False
    )
    assert stations.columns == [
        "station_id", "name", "district_code", "address", "longitude", "latitude", "is_24h",
        "is_smart", "opened_on", "closed_on",
    ]  # fmt: skip
    books = sorted((landing / "station_visits").glob("station-visits-*.xlsx"))
    assert books[0].name == "station-visits-202001.xlsx"
    assert books[-1].name == "station-visits-202411.xlsx"  # December's arrives on 3 January
    sheet = openpyxl.load_workbook(books[-1], read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == VISIT_HEADERS
    assert all(r[2] >= r[3] >= 0 for r in rows[1:])


# --- Ground truth, manifest, determinism, scaling ---------------------------------------------


def test_manifest_plants_every_kind(manifest: dict) -> None:
    kinds = {(p["treatment"], p["rule"]) for p in manifest["planted"]}
    rejected = (
        "missing_required", "unknown_code", "wrong_type", "future_date", "date_before_1949",
        "negative_money", "person_times_lt_1", "malformed_json", "wrong_field_count",
    )  # fmt: skip
    for rule in rejected:
        assert ("rejected", rule) in kinds, rule
    for rule in ("invalid_id_check", "invalid_uscc_check", "gender_mismatch", "invalid_phone"):
        assert ("flagged", rule) in kinds, rule
    for rule in ("duplicate_key", "resend", "revision_corrected", "revision_withdrawn",
                 "unknown_member", "unknown_union", "unknown_station", "unknown_program",
                 "schema_drift", "part_file", "pii_in_remark", "deleted_before_load"):  # fmt: skip
        assert ("reconciled", rule) in kinds, rule


def kpi(document: dict, code: str, year: int = 2024, district: str = "ALL") -> Any:
    return next(
        r["value"]
        for r in document["rows"]
        if r["kpi_code"] == code
        and r["period_start"] == f"{year}-01-01"
        and r["district_code"] == district
    )


def test_expected_kpis_agree_with_the_sources(demo: Path, manifest: dict) -> None:
    truth = json.loads((demo / "expected_kpis.json").read_text(encoding="utf-8"))
    rows_2024 = [r for r in truth["rows"] if r["period_start"] == "2024-01-01"]
    assert len(rows_2024) == 14 * 17 + 5
    events = read_table(demo, "membership_event").filter(
        ~pl.col("event_id").is_in(list(planted(manifest, "rejected", "membership_event")))
    )
    joins_2024 = events.filter(
        (pl.col("event_type") == "JOIN")
        & (pl.col("event_date").cast(pl.String).str.starts_with("2024"))
    )
    assert kpi(truth, "new_members") == joins_2024.height
    assert (
        kpi(truth, "new_members_new_form")
        == joins_2024.filter(pl.col("employment_form") == "NEW_FORM").height
    )
    unions = read_table(demo, "union_org").filter(
        (pl.col("union_type") == "SINGLE")
        & pl.col("founded_on").cast(pl.String).str.starts_with("2024")
    )
    assert (
        kpi(truth, "new_single_unions")
        == unions.filter(
            ~pl.col("union_id").is_in(list(planted(manifest, "rejected", "union_org")))
        ).height
    )
    received = set()
    for _, _, record in export_records(demo / "disputes", "hotline"):
        if record is None:
            continue
        if record["received_at"].startswith("2024") and record["request_id"] not in planted(
            manifest, "rejected", "hotline_request"
        ):
            received.add(record["request_id"])
    assert kpi(truth, "hotline_requests") == len(received)
    assert kpi(truth, "hotline_closure_rate") == 1.0
    districts = sum(kpi(truth, "new_members", 2024, d) for d in load_reference().districts)
    assert districts == kpi(truth, "new_members")


def test_calibrated_to_the_report_at_small_scale(tmp_path: Path) -> None:
    scale = 0.01
    generate(tmp_path, scale, 42, quiet=True)
    truth = json.loads((tmp_path / "expected_kpis.json").read_text(encoding="utf-8"))
    exact = {
        "new_single_unions": 1073, "new_members": 252_700, "new_members_new_form": 54_100,
        "disputes_mediated": 6367, "disputes_legal_aid": 4971,
        "culture_sports_person_times": 20_000_000, "skills_competition_participants": 100_000,
        "app_person_times_cumulative": 6_210_000,
    }  # fmt: skip
    for code, figure in exact.items():
        assert kpi(truth, code) == round(figure * scale), code
    ranges = {
        "disputes_accepted": (16_000, 16_999), "hotline_requests": (53_000, 53_999),
        "care_visits_person_times": (3_120_000, 3_129_999),
        "new_form_service_person_times": (57_000, 57_999),
        "disputes_recovered_yuan": (289e6 * 0.995, 289e6 * 1.005),
    }  # fmt: skip
    for code, (lo, hi) in ranges.items():
        assert lo * scale <= kpi(truth, code) <= hi * scale, code
    assert kpi(truth, "hotline_closure_rate") == 1.0


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_outputs(tmp_path: Path) -> None:
    generate(tmp_path / "a", 0.001, 5, quiet=True)
    generate(tmp_path / "b", 0.001, 5, quiet=True)
    first, second = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert first == second and len(first) > 1000
    generate(tmp_path / "c", 0.001, 6, quiet=True)
    assert digest(tmp_path / "c")["membership.db"] != first["membership.db"]


def test_volumes_scale_linearly(demo: Path, tmp_path: Path) -> None:
    generate(tmp_path, SCALE * 2, SEED, quiet=True)
    grassroots = pl.col("parent_union_id").is_not_null()  # the 16 district federations are fixed
    for table, keep in (("member", True), ("membership_event", True), ("union_org", grassroots)):
        small = read_table(demo, table).filter(keep).height
        large = read_table(tmp_path, table).filter(keep).height
        assert 1.85 < large / small < 2.15, table
    small = sum(1 for _ in (demo / "landing" / "deliveries").rglob("*.csv"))
    rows_small = pl.read_parquet(demo / "_simulator" / "world" / "deliveries.parquet").height
    rows_large = pl.read_parquet(tmp_path / "_simulator" / "world" / "deliveries.parquet").height
    assert small > 0 and 1.85 < rows_large / rows_small < 2.15


# --- Incremental days ---------------------------------------------------------------------------


def test_advance_adds_new_and_changed_records_a_revision_and_a_hard_delete(
    demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "adv"
    shutil.copytree(demo, out)
    before_members = read_table(out, "member")
    before_events = read_table(out, "membership_event").height
    advance(out, 2, quiet=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    deleted = planted(manifest, "reconciled", "member", "hard_delete")
    assert len(deleted) == 1 and deleted <= set(before_members["member_id"])
    members = read_table(out, "member")
    assert not deleted & set(members["member_id"])
    events = read_table(out, "membership_event")
    assert not deleted & set(events["member_id"])
    assert events.height > before_events - 5
    dates = events.filter(~pl.col("event_id").str.starts_with("E9"))["event_date"].cast(pl.String)
    assert dates.max() == "2025-01-02"
    changed = members.join(
        before_members.select("member_id", pl.col("updated_at").alias("old")), on="member_id"
    )
    assert changed.filter(pl.col("updated_at") != pl.col("old")).height > 0
    assert list((out / "disputes").glob("*-2025010[12].jsonl"))
    new_files = list((out / "landing" / "deliveries").glob("*/deliveries-2025010[12].csv"))
    assert new_files
    revised = [
        p for p in manifest["planted"] if p["rule"] == "revision_corrected" and "2025" in p["file"]
    ]
    assert len(revised) == 1 and (out / "landing" / revised[0]["file"]).exists()
    late = {p["entity"]: p["key"] for p in manifest["planted"] if p["rule"] == "late_commit"}
    assert set(late) == {"member", "membership_event"}
    # Committed late: stamped before the previous load's high-water mark, yet new.
    late_row = members.filter(pl.col("member_id") == late["member"])
    assert late_row["updated_at"][0] < before_members["updated_at"].max()
    assert late["membership_event"] in set(events["event_id"])
    truth = json.loads((out / "expected_kpis.json").read_text(encoding="utf-8"))
    assert truth["as_of"] == "2025-01-02"
    assert (
        kpi(truth, "new_members", 2025)
        == read_table(out, "membership_event")
        .filter(
            (pl.col("event_type") == "JOIN")
            & pl.col("event_date").cast(pl.String).str.starts_with("2025")
        )
        .height
    )


# --- The dispute API over real HTTP, on the generated export -------------------------------


def test_api_serves_every_current_record_of_the_export(demo: Path, manifest: dict) -> None:
    with api_server.start_server(demo / "disputes", "t0ken") as server:
        got: list[str] = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = requests.get(
                f"{server.url}/v1/cases",
                params=params,
                headers={"Authorization": "Bearer t0ken"},
                timeout=10,
            ).json()
            got += [r["case_id"] for r in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    ids = set()
    for _, _, record in export_records(demo / "disputes", "cases"):
        if record is None:
            continue
        if "case_id" in record:
            ids.add(record["case_id"])
    assert len(got) == len(set(got)) == len(ids)


# --- PostgreSQL as the membership database ----------------------------------------------------


@pytest.mark.postgres
def test_postgresql_target_holds_the_same_rows_as_sqlite(
    demo: Path, tmp_path: Path, postgres_database: str
) -> None:
    url = postgres_database
    generate(tmp_path, SCALE, SEED, db_url=url, quiet=True)
    engine = sa.create_engine(url)
    for table in ("union_org", "member", "membership_event", "honor"):
        pg = pl.read_database(f"select * from {table} order by 1", engine, infer_schema_length=None)
        lite = read_table(demo, table).sort(pg.columns[0])
        assert pg.height == lite.height, table
        assert pg[pg.columns[0]].to_list() == lite[pg.columns[0]].to_list()
    advance(tmp_path, 1, quiet=True)
    with engine.connect() as conn:
        latest = conn.execute(
            sa.text("select max(event_date) from membership_event where event_date < '2030-01-01'")
        ).scalar()
    assert latest == dt.date(2025, 1, 1)
    engine.dispose()
