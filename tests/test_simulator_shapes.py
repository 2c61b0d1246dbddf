"""The simulator's shapes (simulator/shapes.py): each shape's defining property holds in the
published sources, shape.json says what the sources hold, and the default world is unchanged.
Fast: small worlds, no pipeline (tests/test_shapes.py runs the pipeline over them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_simulator import export_records, id_valid, planted, read_table, uscc_valid

from simulator import calibration as cal
from simulator.cli import main as simulator_cli
from simulator.generate import advance, generate
from simulator.shapes import (
    EMPTY_SERVICES,
    FLAGGED_HEAVY,
    LATE_KEYS,
    ONE_DISTRICT,
    ONE_DISTRICT_CODE,
    SKEWED,
    SKEWED_DISTRICT,
    parse_shapes,
)
from simulator.writers import VISIT_HEADERS

SCALE = 0.002
SEED = 3
# The default world (scale 0.001, seed 5) as the simulator wrote it before shapes existed
# (commit 0b1f003), after generate and after `advance --days 1`. Recompute them with that
# commit's simulator only when a pinned library changes the bytes it writes.
DEFAULT_DIGESTS = {
    "generate": "7355f0e76f63feaea26efae869966a8cf7b676950862ffbb68e8ae738db84f31",
    "advance": "cc592bb71a10d48bbc959663978838b656d428ca637998ad8d2e8f865d8225ed",
}
PHONE = r"^1[0-9]{10}$"


def digest(folder: Path) -> str:
    """Every file's path and bytes; the membership database by its rows, because SQLite's
    file orders the indexes as SQLAlchemy creates them, in an order that varies with
    Python's hash seed."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        h.update(str(path.relative_to(folder)).encode())
        if path.name != "membership.db":
            h.update(hashlib.sha256(path.read_bytes()).digest())
            continue
        con = sqlite3.connect(path)
        tables = con.execute("select name from sqlite_master where type = 'table' order by name")
        for (table,) in tables.fetchall():
            for row in con.execute(f"select * from {table} order by 1"):
                h.update(repr(row).encode())
        con.close()
    return h.hexdigest()


def shape_doc(out: Path) -> dict[str, Any]:
    return json.loads((out / "shape.json").read_text(encoding="utf-8"))


def manifest_doc(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def check(doc: dict[str, Any], asset: str, measure: str) -> dict[str, Any]:
    return next(r for r in doc["checks"] if r["asset"] == asset and r["measure"] == measure)


def truth_rows(out: Path) -> dict[tuple[str, str, str], Any]:
    doc = json.loads((out / "expected_kpis.json").read_text(encoding="utf-8"))
    return {(r["kpi_code"], r["period_start"], r["district_code"]): r["value"] for r in doc["rows"]}


def latest_records(folder: Path, prefix: str, key: str, rejected: set) -> list[dict[str, Any]]:
    """The current version of every record of the export (greatest updated_at, then the
    later line), without the planted rejected ones."""
    latest: dict[str, dict[str, Any]] = {}
    for _, _, record in export_records(folder, prefix):
        if record is None or key not in record or record[key] in rejected:
            continue
        if record[key] not in latest or record["updated_at"] >= latest[record[key]]["updated_at"]:
            latest[record[key]] = record
    return list(latest.values())


def delivery_frame(landing: Path) -> pl.DataFrame:
    """Every delivery row of every file, each read in its district's encoding (for worlds
    without planted bad input: no revisions, resends or rejected rows)."""
    frames = []
    for path in sorted((landing / "deliveries").rglob("deliveries-*.csv")):
        encoding = "gb18030" if path.parent.name in cal.GB18030_DISTRICTS else "utf-8"
        text = path.read_bytes().decode(encoding)
        frames.append(
            pl.read_csv(text.encode(), infer_schema=False).with_columns(file=pl.lit(path.name))
        )
    return pl.concat(frames)


def visit_frame(landing: Path) -> pl.DataFrame:
    books = sorted((landing / "station_visits").glob("station-visits-*.xlsx"))
    frames = [pl.read_excel(book, infer_schema_length=0) for book in books]
    return pl.concat(frames).rename({VISIT_HEADERS[0]: "station_id"})


def latest_snapshot(landing: Path, folder: str) -> pl.DataFrame:
    return pl.read_csv(sorted((landing / folder).glob("*.csv"))[-1], infer_schema=False)


# --- Choosing shapes ---------------------------------------------------------------------------


def test_shapes_are_named_repeated_or_comma_separated() -> None:
    assert parse_shapes([]) == ()
    assert parse_shapes(["skewed", "late-keys,flagged-heavy", " skewed "]) == (
        LATE_KEYS,
        FLAGGED_HEAVY,
        SKEWED,
    )
    with pytest.raises(ValueError, match="unknown shape"):
        parse_shapes(["round"])
    with pytest.raises(ValueError, match="exclude"):
        parse_shapes([ONE_DISTRICT, SKEWED])
    with pytest.raises(SystemExit) as exited:
        simulator_cli(["generate", "--shape", "round", "--out", "/nonexistent"])
    assert exited.value.code == 2


def test_default_world_is_unchanged(tmp_path: Path) -> None:
    generate(tmp_path, 0.001, 5, quiet=True)
    assert digest(tmp_path) == DEFAULT_DIGESTS["generate"]
    assert not (tmp_path / "shape.json").exists()
    advance(tmp_path, 1, quiet=True)
    assert digest(tmp_path) == DEFAULT_DIGESTS["advance"]


# --- one-district ------------------------------------------------------------------------------


def test_one_district_holds_every_record_and_about_50_unions(tmp_path: Path) -> None:
    unions_at = {}
    for scale in (0.001, 0.003):
        out = tmp_path / str(scale)
        generate(out, scale, SEED, quiet=True, shape=[ONE_DISTRICT])
        rejected = planted(manifest_doc(out), "rejected", "union_org")
        unions = read_table(out, "union_org").filter(~pl.col("union_id").is_in(list(rejected)))
        assert set(unions["district_code"]) == {ONE_DISTRICT_CODE}
        assert unions.filter(pl.col("parent_union_id").is_null()).height == 1
        unions_at[scale] = unions.height
    # The union count does not follow --scale; members and activity do.
    assert unions_at[0.001] == unions_at[0.003] == 52
    out = tmp_path / "0.003"
    members = read_table(out, "member").filter(~pl.col("member_id").str.starts_with("M9"))
    assert set(members["union_id"]) <= set(read_table(out, "union_org")["union_id"])
    assert members.height > 1000
    assert [p.name for p in (out / "landing" / "deliveries").iterdir()] == [ONE_DISTRICT_CODE]
    stations = latest_snapshot(out / "landing", "stations")
    assert set(stations["district_code"]) == {ONE_DISTRICT_CODE}
    manifest = manifest_doc(out)
    for prefix, key, entity in (
        ("cases", "case_id", "case"),
        ("hotline", "request_id", "hotline_request"),
    ):
        records = latest_records(
            out / "disputes", prefix, key, planted(manifest, "rejected", entity)
        )
        assert {r["district_code"] for r in records} - {None} == {ONE_DISTRICT_CODE}
    truth = truth_rows(out)
    others = [
        v
        for (code, _, district), v in truth.items()
        if district not in ("ALL", ONE_DISTRICT_CODE) and code != "hotline_closure_rate"
    ]
    assert others and set(others) == {0}


# --- skewed ------------------------------------------------------------------------------------


def test_skewed_puts_most_activity_in_one_district(tmp_path: Path) -> None:
    generate(tmp_path, SCALE, SEED, quiet=True, shape=[SKEWED])
    world = tmp_path / "_simulator" / "world"
    for name in ("unions", "cases", "deliveries"):
        frame = pl.read_parquet(world / f"{name}.parquet")
        share = frame.filter(pl.col("district_code") == SKEWED_DISTRICT).height / frame.height
        assert 0.75 < share < 0.86, (name, share)
    truth = truth_rows(tmp_path)
    for code in ("new_members", "disputes_accepted", "culture_sports_person_times"):
        share = truth[code, "2024-01-01", SKEWED_DISTRICT] / truth[code, "2024-01-01", "ALL"]
        assert share > 0.7, (code, share)  # members follow unions by size: noisier
    assert manifest_doc(tmp_path)["shapes"] == [SKEWED]


# --- flagged-heavy -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flagged-heavy")
    generate(out, SCALE, SEED, quiet=True, shape=[FLAGGED_HEAVY])
    return out


def _share_between(failing: int, total: int) -> None:
    assert 0.10 <= failing / total <= 0.20, (failing, total)


def test_flagged_heavy_members_and_unions_as_shape_json_counts(flagged: Path) -> None:
    doc, manifest = shape_doc(flagged), manifest_doc(flagged)
    members = read_table(flagged, "member").filter(
        ~pl.col("member_id").is_in(list(planted(manifest, "rejected", "member")))
    )
    residents = members.filter(pl.col("id_type") == "RESIDENT_ID")
    valid = residents.with_columns(ok=pl.col("id_number").map_elements(id_valid, pl.Boolean))
    bad_id = valid.filter(~pl.col("ok")).height
    id_gender = (
        pl.when(pl.col("id_number").str.slice(16, 1).cast(pl.Int32) % 2 == 1)
        .then(pl.lit("M"))
        .otherwise(pl.lit("F"))
    )
    mismatch = valid.filter(pl.col("ok") & (pl.col("gender") != id_gender)).height
    bad_phone = members.filter(~pl.col("phone").str.contains(PHONE)).height
    asset = "raw/membership/member"
    assert check(doc, asset, "id_valid") == {
        "asset": asset, "check_name": "validity", "measure": "id_valid",
        "records_checked": members.height, "records_missing": members.height - residents.height,
        "records_failing": bad_id,
    }  # fmt: skip
    assert check(doc, asset, "gender_matches_id")["records_failing"] == mismatch
    assert check(doc, asset, "phone_valid")["records_failing"] == bad_phone
    for failing in (bad_id, mismatch, bad_phone):
        _share_between(failing, members.height)
    assert doc["flagged"]["member.invalid_id_check"] == bad_id

    unions = read_table(flagged, "union_org").filter(
        ~pl.col("union_id").is_in(list(planted(manifest, "rejected", "union_org")))
    )
    bad_uscc = sum(
        1
        for own, employer in unions.select("union_uscc", "employer_uscc").iter_rows()
        if not uscc_valid(own) or (employer is not None and not uscc_valid(employer))
    )
    assert check(doc, "raw/membership/union_org", "uscc_valid")["records_failing"] == bad_uscc
    _share_between(bad_uscc, unions.height)


def test_flagged_heavy_cases_and_callers_as_shape_json_counts(flagged: Path) -> None:
    doc, manifest = shape_doc(flagged), manifest_doc(flagged)
    cases = latest_records(
        flagged / "disputes", "cases", "case_id", planted(manifest, "rejected", "case")
    )
    employer = sum(1 for c in cases if not uscc_valid(c["employer"]["uscc"]))
    ids = sum(
        1
        for c in cases
        if any(len(p["id_number"]) == 18 and not id_valid(p["id_number"]) for p in c["claimants"])
    )
    phones = sum(
        1
        for c in cases
        if any(not pl.Series([p["phone"]]).str.contains(PHONE)[0] for p in c["claimants"])
    )
    asset = "raw/disputes/case"
    assert check(doc, asset, "employer_uscc_valid")["records_checked"] == len(cases)
    assert check(doc, asset, "employer_uscc_valid")["records_failing"] == employer
    assert check(doc, asset, "claimant_ids_valid")["records_failing"] == ids
    assert check(doc, asset, "claimant_phones_valid")["records_failing"] == phones
    requests = latest_records(
        flagged / "disputes",
        "hotline",
        "request_id",
        planted(manifest, "rejected", "hotline_request"),
    )
    callers = pl.Series([r["caller"]["phone"] for r in requests])
    bad_callers = int((~callers.str.contains(PHONE)).sum())
    found = check(doc, "raw/disputes/hotline_request", "caller_phone_valid")
    assert (found["records_checked"], found["records_failing"]) == (len(requests), bad_callers)
    for failing, total in (
        (employer, len(cases)),
        (ids, len(cases)),
        (phones, len(cases)),
        (bad_callers, len(requests)),
    ):
        _share_between(failing, total)


def test_flagged_heavy_leaves_the_truth_unchanged(flagged: Path, tmp_path: Path) -> None:
    generate(tmp_path, SCALE, SEED, quiet=True)
    assert (flagged / "expected_kpis.json").read_bytes() == (
        tmp_path / "expected_kpis.json"
    ).read_bytes()
    # The default planting's flagged records are still exactly those of its manifest.
    kinds = {
        (p["entity"], p["rule"])
        for p in manifest_doc(flagged)["planted"]
        if p["treatment"] == "flagged"
    }
    default = {
        (p["entity"], p["rule"])
        for p in manifest_doc(tmp_path)["planted"]
        if p["treatment"] == "flagged"
    }
    assert kinds == default


# --- late-keys ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A late-keys world without planted bad input (its sources read plainly), through the CLI,
    as it stands on the generate day and after one advance."""
    out = tmp_path_factory.mktemp("late-keys")
    args = ["--out", str(out), "--quiet"]
    assert (
        simulator_cli(
            [
                "generate",
                "--scale",
                str(SCALE),
                "--seed",
                str(SEED),
                "--no-bad-input",
                "--shape",
                LATE_KEYS,
                *args,
            ]
        )
        == 0
    )
    day_one = _late_state(out)
    assert simulator_cli(["advance", "--days", "1", *args]) == 0
    return {"out": out, "day_one": day_one, "day_two": _late_state(out)}


def _late_state(out: Path) -> dict[str, Any]:
    """What the sources show: the keys the membership database and the station list know,
    the unknown references counted from the files, and shape.json."""
    landing = out / "landing"
    members = set(read_table(out, "member")["member_id"])
    unions = set(read_table(out, "union_org")["union_id"])
    stations = set(latest_snapshot(landing, "stations")["station_id"])
    deliveries = delivery_frame(landing)
    visits = visit_frame(landing)
    cases = latest_records(out / "disputes", "cases", "case_id", set())
    return {
        "members": members,
        "unions": unions,
        "stations": stations,
        "deliveries": deliveries,
        "unknown": {
            "delivery.unknown_member": deliveries.filter(
                pl.col("member_id").is_not_null() & ~pl.col("member_id").is_in(list(members))
            ).height,
            "delivery.unknown_union": deliveries.filter(
                ~pl.col("union_id").is_in(list(unions))
            ).height,
            "delivery.unknown_station": deliveries.filter(
                pl.col("station_id").is_not_null() & ~pl.col("station_id").is_in(list(stations))
            ).height,
            "station_visit.unknown_station": visits.filter(
                ~pl.col("station_id").is_in(list(stations))
            ).height,
            "case.unknown_handling_union": sum(
                1 for c in cases if c["handling_union_id"] not in unions
            ),
        },
        # The day's case versions; on a small world's quiet day, the latest one.
        "day_cases": [c for c in cases if c["updated_at"].startswith("2024-12-31")]
        or [max(cases, key=lambda c: c["updated_at"])],
        "doc": shape_doc(out),
        "truth": truth_rows(out),
        "state": json.loads((out / "_simulator" / "state.json").read_text(encoding="utf-8")),
    }


def test_late_keys_day_one_facts_reference_keys_not_yet_known(late: dict[str, Any]) -> None:
    one = late["day_one"]
    today = one["deliveries"].filter(pl.col("file").str.contains("20241231"))
    assert (
        today.filter(
            pl.col("member_id").is_not_null() & ~pl.col("member_id").is_in(list(one["members"]))
        ).height
        >= 1
    )
    assert today.filter(~pl.col("union_id").is_in(list(one["unions"]))).height >= 1
    assert any(c["handling_union_id"] not in one["unions"] for c in one["day_cases"])
    for name, count in one["unknown"].items():
        assert count >= 1, name
        assert one["doc"]["unknown_keys"][name] == count, name
    assert one["doc"]["shaped"][LATE_KEYS]["arrive_on"] == "2025-01-01"
    assert one["doc"]["kpis_exact_only_after_keys_arrive"] == []


def test_late_keys_arrive_with_the_next_day(late: dict[str, Any]) -> None:
    one, two = late["day_one"], late["day_two"]
    assert two["state"]["shapes"] == [LATE_KEYS] and two["doc"]["as_of"] == "2025-01-01"
    # Every key a fact used on day one is known on day two, stamped on the arrival day.
    assert set(two["unknown"].values()) == {0}
    assert set(two["doc"]["unknown_keys"].values()) == {0}
    arrived = read_table(late["out"], "member").filter(
        ~pl.col("member_id").is_in(list(one["members"]))
    )
    assert arrived.height > 0
    assert set(arrived["created_at"].cast(pl.String).str.slice(0, 10)) == {"2025-01-01"}
    assert len(two["unions"] - one["unions"]) == one["doc"]["shaped"][LATE_KEYS]["unions"]
    assert len(two["stations"] - one["stations"]) == one["doc"]["shaped"][LATE_KEYS]["stations"]
    # Their members count from the day they arrive, in the periods of their own events.
    assert (
        two["truth"]["members_active_end", "2024-01-01", "ALL"]
        > one["truth"]["members_active_end", "2024-01-01", "ALL"]
    )
    assert (
        two["truth"]["disputes_accepted", "2024-01-01", "ALL"]
        == one["truth"]["disputes_accepted", "2024-01-01", "ALL"]
    )


# --- empty-services-day-one --------------------------------------------------------------------


def test_empty_services_day_one_then_everything_the_next_day(tmp_path: Path) -> None:
    shaped, plain = tmp_path / "shaped", tmp_path / "plain"
    generate(shaped, 0.001, SEED, quiet=True, shape=[EMPTY_SERVICES])
    landing = shaped / "landing"
    assert sorted(p.name for p in landing.iterdir()) == ["programs", "stations"]
    truth = truth_rows(shaped)
    for code in (
        "care_visits_person_times",
        "culture_sports_person_times",
        "app_person_times_cumulative",
    ):
        assert {v for (k, _, _), v in truth.items() if k == code} == {0}, code
    assert truth["app_service_items_cumulative", "2024-01-01", "ALL"] > 0
    assert not any(
        p["source"] == "services" and p["entity"] != "program"
        for p in manifest_doc(shaped)["planted"]
    )
    assert shape_doc(shaped)["services_published"] is False

    # The next day publishes every delivery and visit, with their planted bad input: the
    # landing directory and the truth are then those of the default world on that day.
    advance(shaped, 1, quiet=True)
    generate(plain, 0.001, SEED, quiet=True)
    advance(plain, 1, quiet=True)
    assert digest(shaped / "landing") == digest(plain / "landing")
    assert (shaped / "expected_kpis.json").read_bytes() == (
        plain / "expected_kpis.json"
    ).read_bytes()
    kinds = sorted(json.dumps(p, sort_keys=True) for p in manifest_doc(shaped)["planted"])
    assert kinds == sorted(json.dumps(p, sort_keys=True) for p in manifest_doc(plain)["planted"])
    assert shape_doc(shaped)["services_published"] is True
    assert dt.date.fromisoformat(shape_doc(shaped)["as_of"]) == cal.BASE_AS_OF + dt.timedelta(
        days=1
    )
