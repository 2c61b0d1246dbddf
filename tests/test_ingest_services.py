"""The service landing directory into the raw layer (``ingestion.services``).

Expected figures are computed here from the landing files themselves (``csv``, ``openpyxl``)
and from the simulator's manifest, never from the loader's own helpers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import fsspec
import openpyxl
import pytest
import xlsxwriter

from ingestion.raw_store import EntityResult, RawStore
from ingestion.services import ServicesLoad, load
from ingestion.validation import ContractViolation
from simulator.calibration import GB18030_DISTRICTS

KEY = b"services-test-key-0123456789abcdef"
NOW = dt.datetime(2025, 6, 30, 12, 0)
DELIVERY_NAME = re.compile(r"deliveries-(\d{8})(?:-r(\d+))?\.csv$")
HEADER = (
    "delivery_id,program_code,member_id,beneficiary_group,union_id,union_name,station_id,"
    "district_code,delivered_on,person_times,benefit_value_yuan,channel,recorded_at,remark"
)


# --- independent readers of the landing directory ------------------------------------------


def read_records(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def live_delivery_files(landing: Path) -> list[Path]:
    """The highest revision of every delivery file group."""
    best: dict[tuple[str, str], tuple[int, Path]] = {}
    for path in landing.glob("deliveries/*/deliveries-*.csv"):
        match = DELIVERY_NAME.search(path.name)
        assert match, path
        group = (path.parent.name, match.group(1))
        revision = int(match.group(2) or 1)
        if group not in best or best[group][0] < revision:
            best[group] = (revision, path)
    return [path for _, path in best.values()]


def xlsx_rows(landing: Path) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for path in sorted(landing.glob("station_visits/*.xlsx")):
        book = openpyxl.load_workbook(path, read_only=True)
        for sid, day, visits, new_form, union in book.worksheets[0].iter_rows(
            min_row=2, values_only=True
        ):
            rows.append((sid, day.date(), int(visits), int(new_form), union))
        book.close()
    return rows


def relative_files(landing: Path) -> set[str]:
    return {
        p.relative_to(landing).as_posix()
        for p in landing.rglob("*")
        if p.is_file() and not p.name.endswith(".part")
    }


def planted(manifest: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [e for e in manifest["planted"] if all(e.get(k) == v for k, v in match.items())]


def by_entity(results: list[EntityResult]) -> dict[str, EntityResult]:
    return {r.entity: r for r in results}


# --- the demo sources, loaded once ---------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(
    demo_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RawStore, dict[str, EntityResult]]:
    store = RawStore(tmp_path_factory.mktemp("services-wh") / "warehouse.duckdb")
    results = load(ServicesLoad(str(demo_sources / "landing"), KEY), store, now=NOW)
    return store, by_entity(results)


def test_full_load_current_deliveries_match_the_files(
    loaded: tuple[RawStore, dict[str, EntityResult]],
    demo_sources: Path,
    demo_manifest: dict[str, Any],
) -> None:
    store, _ = loaded
    landing = demo_sources / "landing"
    ids = {r["delivery_id"] for path in live_delivery_files(landing) for r in read_records(path)}
    rejected = {e["key"] for e in planted(demo_manifest, entity="delivery", treatment="rejected")}
    expected = len(ids - rejected - {"", None})
    assert expected > 40_000
    counts = store.query(
        "select count(*) as n, count(distinct delivery_id) as k from raw.delivery_current "
        "where not _is_deleted"
    ).row(0)
    assert counts == (expected, expected)


def test_full_load_quarantines_exactly_the_planted_records(
    loaded: tuple[RawStore, dict[str, EntityResult]],
    demo_sources: Path,
    demo_manifest: dict[str, Any],
) -> None:
    store, results = loaded
    expected = set()
    for e in planted(demo_manifest, source="services", treatment="rejected"):
        line = e.get("line")
        if line is None:  # the bad programme is appended to the newest catalogue
            line = len(read_records(demo_sources / "landing" / e["file"])) + 1
        expected.add((e["entity"], e["key"], e["file"], line, e["rule"], e.get("column")))
    assert len(expected) == 10
    found = store.query(
        "select entity, record_key, file, line, rule, column_name from quarantine.records "
        "where source = 'services'"
    ).rows()
    assert len(found) == len(expected)
    assert set(found) == expected
    assert results["delivery"].rows_quarantined == 9
    assert results["program"].quarantined_by_rule == {"unknown_code": 1}
    assert results["station"].rows_quarantined == 0
    assert results["station_visit"].rows_quarantined == 0


def test_full_load_decodes_gb18030_districts(
    loaded: tuple[RawStore, dict[str, EntityResult]], demo_sources: Path
) -> None:
    store, results = loaded
    landing = demo_sources / "landing"
    files = list(landing.glob("deliveries/*/*.csv"))
    gb = [p for p in files if p.parent.name in GB18030_DISTRICTS]
    assert results["delivery"].report["encodings"] == {
        "gb18030": len(gb),
        "utf-8": len(files) - len(gb),
    }
    sample = sorted(landing.glob("deliveries/110111/deliveries-2024*.csv"))[5]
    with pytest.raises(UnicodeDecodeError):
        sample.read_bytes().decode("utf-8")
    row = read_records(sample)[0]
    assert re.search(r"[\u4e00-\u9fff]", row["union_name"])
    loaded_name = store.query(
        "select union_name from raw.delivery_current where delivery_id = ?", [row["delivery_id"]]
    ).item()
    assert loaded_name == row["union_name"]


def test_full_load_applies_revisions_and_resends(
    loaded: tuple[RawStore, dict[str, EntityResult]],
    demo_sources: Path,
    demo_manifest: dict[str, Any],
) -> None:
    store, results = loaded
    report = results["delivery"].report
    (withdrawn,) = planted(demo_manifest, rule="revision_withdrawn")
    (corrected,) = planted(demo_manifest, rule="revision_corrected")
    assert report["revision_withdrawn"] == 1
    assert report["revision_corrected"] == 1
    assert report["revisions"][0]["withdrawn_keys"] == [withdrawn["key"]]
    assert report["revisions"][0]["corrected_keys"] == [corrected["key"]]

    current = "select count(*) from raw.delivery_current where delivery_id = ?"
    assert store.query(current, [withdrawn["key"]]).item() == 0
    history = "select count(*) from raw.delivery where delivery_id = ?"
    assert store.query(history, [withdrawn["key"]]).item() == 1
    revised = {
        r["delivery_id"]: r for r in read_records(demo_sources / "landing" / corrected["file"])
    }[corrected["key"]]
    base = corrected["file"].replace("-r2", "")
    original = {r["delivery_id"]: r for r in read_records(demo_sources / "landing" / base)}
    assert int(revised["person_times"]) == int(original[corrected["key"]]["person_times"]) + 2
    person_times, source_file = store.query(
        "select person_times, _source_file from raw.delivery_current where delivery_id = ?",
        [corrected["key"]],
    ).row(0)
    assert (person_times, source_file) == (int(revised["person_times"]), corrected["file"])

    (resend,) = planted(demo_manifest, rule="resend")
    assert report["resend"] == 1
    assert report["resend_keys"] == [resend["key"]]
    assert report["resend_changed"] == 0
    history = store.query(
        "select count(*) from raw.delivery where delivery_id = ?", [resend["key"]]
    )
    assert history.item() == 2
    assert store.query(current, [resend["key"]]).item() == 1


def test_full_load_reports_drift_and_ignores_part_files(
    loaded: tuple[RawStore, dict[str, EntityResult]],
    demo_sources: Path,
    demo_manifest: dict[str, Any],
) -> None:
    store, results = loaded
    report = results["delivery"].report
    (drift,) = planted(demo_manifest, source="services", rule="schema_drift")
    assert report["schema_drift"] == {drift["file"]: [drift["column"]]}
    drift_rows = len(read_records(demo_sources / "landing" / drift["file"]))
    assert store.query(
        "select count(*) from raw.delivery where _source_file = ?", [drift["file"]]
    ).item() == drift_rows  # fmt: skip
    columns = store.query("select column_name from information_schema.columns "
                          "where table_schema = 'raw' and table_name = 'delivery'")  # fmt: skip
    assert "operator_note" not in columns["column_name"].to_list()
    assert "remark" not in columns["column_name"].to_list()

    (part,) = planted(demo_manifest, source="services", rule="part_file")
    assert report["partial_files_ignored"] == [part["file"]]
    assert store.query(
        "select count(*) from raw.delivery where delivery_id = ?", [part["key"]]
    ).item() == 0  # fmt: skip
    processed = set(store.query("select file from meta.files where source = 'services'")["file"])
    assert processed == relative_files(demo_sources / "landing")


def test_full_load_keeps_unknown_keys_and_every_visit(
    loaded: tuple[RawStore, dict[str, EntityResult]],
    demo_sources: Path,
    demo_manifest: dict[str, Any],
) -> None:
    store, results = loaded
    unknown = planted(demo_manifest, entity="delivery", treatment="reconciled")
    keys = [e["key"] for e in unknown if e["rule"].startswith("unknown_")]
    assert len(keys) == 3
    kept = store.query(
        "select delivery_id from raw.delivery_current where list_contains(?, delivery_id)", [keys]
    )
    assert sorted(kept["delivery_id"]) == sorted(keys)

    expected = xlsx_rows(demo_sources / "landing")
    visits = store.query(
        "select station_id, visit_date, visits, new_form_visits, reporting_union_id "
        "from raw.station_visit_current"
    ).rows()
    assert Counter(visits) == Counter(expected)
    assert results["station_visit"].rows_new == len(expected)
    (station,) = planted(demo_manifest, entity="station_visit", rule="unknown_station")
    assert store.query(
        "select visits from raw.station_visit_current where _record_key = ?", [station["key"]]
    ).item() == 12  # fmt: skip

    landing = demo_sources / "landing"
    newest_programs = sorted(landing.glob("programs/*.csv"))[-1]
    newest_stations = sorted(landing.glob("stations/*.csv"))[-1]
    programs = store.query("select count(*) from raw.program_current").item()
    stations = store.query("select count(*) from raw.station_current").item()
    assert programs == len(read_records(newest_programs)) - 1  # P900001 is rejected
    assert stations == len(read_records(newest_stations))
    assert results["program"].files == len(list(landing.glob("programs/*.csv")))
    assert results["program"].report["older_snapshots_skipped"] == results["program"].files - 1


def test_pii_remark_is_written_nowhere(
    loaded: tuple[RawStore, dict[str, EntityResult]],
    demo_sources: Path,
    demo_manifest: dict[str, Any],
) -> None:
    store, _ = loaded
    (pii,) = planted(demo_manifest, rule="pii_in_remark")
    phone = pii["pii"]
    source_rows = [
        r
        for path in (demo_sources / "landing").glob("deliveries/*/*.csv")
        if phone.encode() in path.read_bytes()
        for r in read_records(path)
    ]
    assert [r["delivery_id"] for r in source_rows if phone in r["remark"]] == [pii["key"]]
    assert store.query(
        "select count(*) from raw.delivery_current where delivery_id = ?", [pii["key"]]
    ).item() == 1  # fmt: skip

    parquet = sorted(store.raw_dir.rglob("*.parquet"))
    assert len(parquet) >= 5
    with duckdb.connect() as con:
        for path in parquet:
            hits = con.execute(
                "select count(*) from read_parquet(?) t where contains(t::varchar, ?)",
                [str(path), phone],
            ).fetchone()
            assert hits == (0,), path
    quarantine = store.query("select * from quarantine.records")
    assert phone not in quarantine.write_csv()
    reports = store.query("select report::varchar as r from meta.loads")["r"].to_list()
    assert not any(phone in r for r in reports)


# --- reloads ---------------------------------------------------------------------------------


def test_second_identical_run_adds_nothing(demo_sources: Path, tmp_path: Path) -> None:
    store = RawStore(tmp_path / "warehouse.duckdb")
    config = ServicesLoad(str(demo_sources / "landing"), KEY)
    load(config, store, now=NOW)
    quarantined = store.query("select count(*) from quarantine.records").item()
    history = store.query("select count(*) from raw.delivery").item()
    again = by_entity(load(config, store, now=NOW + dt.timedelta(hours=1)))
    assert set(again) == {"program", "station", "delivery", "station_visit"}
    for result in again.values():
        assert (result.files, result.rows_read, result.rows_new, result.rows_quarantined) == (
            0,
            0,
            0,
            0,
        ), result.entity
    assert store.query("select count(*) from quarantine.records").item() == quarantined
    assert store.query("select count(*) from raw.delivery").item() == history
    assert store.query("select count(*) from meta.loads where source = 'services'").item() == 8


def test_advance_adds_exactly_the_new_files(demo_copy: Path, tmp_path: Path) -> None:
    from simulator.generate import advance

    landing = demo_copy / "landing"
    store = RawStore(tmp_path / "warehouse.duckdb")
    config = ServicesLoad(str(landing), KEY)
    load(config, store, now=NOW)
    before_files = relative_files(landing)
    before_rows = {
        e: store.query(f"select count(*) from raw.{e}").item()
        for e in ("program", "station", "delivery", "station_visit")
    }
    planted_before = len(json.loads((demo_copy / "manifest.json").read_text())["planted"])

    advance(demo_copy, 1, quiet=True)
    new_files = sorted(relative_files(landing) - before_files)
    assert new_files, "advance published nothing"
    new_deliveries = [f for f in new_files if f.startswith("deliveries/")]
    delivery_rows = sum(len(read_records(landing / f)) for f in new_deliveries)
    assert delivery_rows > 0

    results = by_entity(load(config, store, now=NOW + dt.timedelta(hours=1)))
    delivery = results["delivery"]
    assert delivery.files == len(new_deliveries)
    assert delivery.rows_read == delivery_rows
    assert delivery.rows_quarantined == 0
    added = store.query("select count(*) from raw.delivery").item() - before_rows["delivery"]
    assert added == delivery_rows
    sources = store.query(
        "select distinct _source_file from raw.delivery where _load_id = ?",
        [delivery.load_id],
    )
    assert sorted(sources["_source_file"]) == new_deliveries

    for entity, folder in (("program", "programs/"), ("station", "stations/")):
        snapshots = [f for f in new_files if f.startswith(folder)]
        expected = sum(len(read_records(landing / f)) for f in snapshots[-1:])
        result = results[entity]
        assert result.files == len(snapshots)
        assert store.query(f"select count(*) from raw.{entity}").item() == (
            before_rows[entity] + expected
        )
    visits = [f for f in new_files if f.startswith("station_visits/")]
    assert results["station_visit"].files == len(visits)

    # Whatever revision the day brought is reflected exactly.
    manifest = json.loads((demo_copy / "manifest.json").read_text())
    fresh = manifest["planted"][planted_before:]
    withdrawn = [e["key"] for e in fresh if e["rule"] == "revision_withdrawn"]
    corrected = [e["key"] for e in fresh if e["rule"] == "revision_corrected"]
    assert delivery.report["revision_withdrawn"] == len(withdrawn)
    assert delivery.report["revision_corrected"] == len(corrected)
    for key in withdrawn:
        assert store.query(
            "select count(*) from raw.delivery_current where delivery_id = ?", [key]
        ).item() == 0  # fmt: skip
    assert set(store.query("select file from meta.files where source = 'services'")["file"]) == (
        relative_files(landing)
    )


# --- small landing directories in memory ---------------------------------------------------


def delivery_line(key: str, person_times: int = 1, remark: str = "", **kw: str) -> str:
    values = {
        "delivery_id": key,
        "program_code": "P000001",
        "member_id": "",
        "beneficiary_group": "MEMBER",
        "union_id": "U00000001",
        "union_name": "东城区总工会",
        "station_id": "",
        "district_code": "110101",
        "delivered_on": "2024-03-01",
        "person_times": str(person_times),
        "benefit_value_yuan": "10.00",
        "channel": "ONSITE",
        "recorded_at": "2024-03-01 10:00:00",
        "remark": remark,
    } | kw
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values.values())
    return buffer.getvalue()


def put(fs: fsspec.AbstractFileSystem, path: str, *lines: str) -> None:
    """A UTF-8 delivery file: the contract's header, then ``lines``."""
    fs.pipe(path, (HEADER + "\n" + "".join(lines)).encode())


@pytest.fixture
def memory_landing() -> Iterator[tuple[fsspec.AbstractFileSystem, str]]:
    fs = fsspec.filesystem("memory")
    root = f"/services-{uuid.uuid4().hex}"
    fs.mkdir(root)
    fs.pipe(
        f"{root}/programs/programs-20240101.csv",
        (
            "program_code,name_zh,name_en,category,channel,start_on,end_on,owner_union_id\n"
            "P000001,冬送温暖,Winter,WINTER_WARMTH,ONSITE,2023-12-01,2024-02-29,U00000001\n"
        ).encode(),
    )
    yield fs, root
    fs.rm(root, recursive=True)


def test_quoted_multiline_remark_counts_as_one_line(
    memory_landing: tuple[fsspec.AbstractFileSystem, str], tmp_path: Path
) -> None:
    fs, root = memory_landing
    body = (
        HEADER
        + "\n"
        + delivery_line("D1", remark='第一行\n第二行, 含"引号"')
        + delivery_line("D2", person_times=0)
        + "D3,too,few\n"
        + delivery_line("D4", remark="电话13900000000")
    )
    fs.pipe(f"{root}/deliveries/110105/deliveries-20240301.csv", body.encode("gb18030"))
    store = RawStore(tmp_path / "w.duckdb")
    results = by_entity(load(ServicesLoad(f"memory://{root}", KEY), store, now=NOW))
    assert results["delivery"].report["encodings"] == {"gb18030": 1}
    lines = store.query("select delivery_id, _source_line from raw.delivery order by 1").rows()
    assert lines == [("D1", 2), ("D4", 5)]
    rejected = store.query(
        "select record_key, line, rule, column_name from quarantine.records order by line"
    ).rows()
    assert rejected == [
        ("D2", 3, "person_times_lt_1", "person_times"),
        ("D3", 4, "wrong_field_count", None),
    ]
    assert results["program"].rows_new == 1


def test_revisions_across_loads(
    memory_landing: tuple[fsspec.AbstractFileSystem, str], tmp_path: Path
) -> None:
    fs, root = memory_landing
    folder = f"{root}/deliveries/110101"
    first = [delivery_line(key) for key in ("D1", "D2", "D3")]
    put(fs, f"{folder}/deliveries-20240301.csv", *first)
    put(fs, f"{folder}/deliveries-20240302.csv", delivery_line("D9"))
    store = RawStore(tmp_path / "w.duckdb")
    config = ServicesLoad(f"memory://{root}", KEY)
    load(config, store, now=NOW)

    # r2: D1 corrected, D2 withdrawn, D3 unchanged; D1 resent identically in another file.
    put(fs, f"{folder}/deliveries-20240301-r2.csv", delivery_line("D1", 5), delivery_line("D3"))
    put(fs, f"{folder}/deliveries-20240303.csv", delivery_line("D9"))
    second = by_entity(load(config, store, now=NOW + dt.timedelta(hours=1)))["delivery"]
    assert second.report["revision_withdrawn"] == 1
    assert second.report["revision_corrected"] == 1
    assert second.report["revisions"][0]["withdrawn_keys"] == ["D2"]
    assert second.report["resend"] == 1
    assert second.report["resend_keys"] == ["D9"]
    current = (
        "select delivery_id, person_times from raw.delivery_current "
        "where not _is_deleted order by 1"
    )
    assert store.query(current).rows() == [("D1", 5), ("D3", 1), ("D9", 1)]

    # r3 with no row at all withdraws the whole file: its rows leave the current state.
    put(fs, f"{folder}/deliveries-20240301-r3.csv")
    third = by_entity(load(config, store, now=NOW + dt.timedelta(hours=2)))["delivery"]
    assert third.report["revision_withdrawn"] == 2
    assert third.report["revisions_without_rows"] == ["deliveries/110101/deliveries-20240301"]
    assert third.rows_deleted == 2
    assert store.query(current).rows() == [("D9", 1)]


def test_snapshots_newest_file_is_the_truth(
    memory_landing: tuple[fsspec.AbstractFileSystem, str], tmp_path: Path
) -> None:
    fs, root = memory_landing
    header = "program_code,name_zh,name_en,category,channel,start_on,end_on,owner_union_id\n"
    row = "{},互助,Aid,MUTUAL_AID,ONSITE,2024-01-01,,U00000001\n"
    store = RawStore(tmp_path / "w.duckdb")
    config = ServicesLoad(f"memory://{root}", KEY)
    load(config, store, now=NOW)

    # Two new snapshots: only the newest is read; P000001 is gone from it, P000002 is new.
    fs.pipe(f"{root}/programs/programs-20240201.csv", (header + row.format("P000009")).encode())
    fs.pipe(f"{root}/programs/programs-20240301.csv", (header + row.format("P000002")).encode())
    program = by_entity(load(config, store, now=NOW + dt.timedelta(hours=1)))["program"]
    assert (program.files, program.rows_read, program.rows_new) == (2, 1, 1)
    assert program.report["snapshot_file"] == "programs/programs-20240301.csv"
    assert program.report["older_snapshots_skipped"] == 1
    assert (program.report["deleted"], program.report["deleted_keys"]) == (1, ["P000001"])
    assert program.rows_deleted == 0  # reported, not tombstoned
    current = store.query("select program_code from raw.program_current")["program_code"]
    assert current.to_list() == ["P000002"]

    # A late file older than the newest changes nothing.
    fs.pipe(f"{root}/programs/programs-20240215.csv", (header + row.format("P000008")).encode())
    late = by_entity(load(config, store, now=NOW + dt.timedelta(hours=2)))["program"]
    assert (late.files, late.rows_read, late.report["snapshot_file"]) == (1, 0, None)
    current = store.query("select program_code from raw.program_current")["program_code"]
    assert current.to_list() == ["P000002"]


def write_visits(path: Path, headers: tuple[str, ...]) -> bytes:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, headers)
    sheet.write_row(1, 0, ["S000001", "2024-06-01", 3, 1, "U00000001"][: len(headers)])
    book.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "named"),
    [
        (
            "deliveries/110101/deliveries-20240301.csv",
            HEADER.replace(",union_id", "") + "\n",
            "'union_id'",
        ),
        ("deliveries/110101/deliveries-20240302.csv", b"\xff\xfe\xff\x00binary", "neither"),
        ("deliveries/110101/deliveries-20240303.csv", b"", "'delivery_id'"),
        ("programs/programs-20240201.csv", "program_code,name_zh\nP1,x\n", "'category'"),
        ("station_visits/station-visits-202406.xlsx", HEADER + "\n", "not a valid xlsx"),
        ("station_visits/station-visits-202407.xlsx", "missing-header", "'填报单位'"),
    ],
)
def test_contract_break_stops_and_commits_nothing(
    memory_landing: tuple[fsspec.AbstractFileSystem, str],
    tmp_path: Path,
    name: str,
    content: str | bytes,
    named: str,
) -> None:
    fs, root = memory_landing
    put(fs, f"{root}/deliveries/110101/deliveries-20240229.csv", delivery_line("D1"))
    store = RawStore(tmp_path / "w.duckdb")
    config = ServicesLoad(f"memory://{root}", KEY)
    load(config, store, now=NOW)
    loads = store.query("select count(*) from meta.loads").item()
    parquet = sorted(store.raw_dir.rglob("*"))

    if content == "missing-header":
        content = write_visits(
            tmp_path / "v.xlsx", ("驿站编号", "日期", "服务人次", "其中新就业形态")
        )
    fs.pipe(f"{root}/{name}", content.encode() if isinstance(content, str) else content)
    with pytest.raises(ContractViolation) as caught:
        load(config, store, now=NOW + dt.timedelta(hours=1))
    assert name in str(caught.value)
    assert named in str(caught.value)
    assert store.query("select count(*) from meta.loads").item() == loads
    assert sorted(store.raw_dir.rglob("*")) == parquet
    assert store.query("select count(*) from raw.delivery").item() == 1
