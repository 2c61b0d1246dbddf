"""Dispute & hotline ingestion: export and API transports against the simulator's files.

Expectations are computed from the export files themselves (read here with ``json`` and
``gzip``, independently of the loader) and from the manifest of planted bad input.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from ingestion import disputes
from ingestion.disputes.api import DisputesApi, DisputesApiError, FetchStats, RetryPolicy
from ingestion.disputes.records import SHAPES, RecordCollector
from ingestion.pii import pseudonymise
from ingestion.raw_store import BEIJING, EntityResult, RawStore
from ingestion.validation import ContractViolation
from simulator.api_server import FaultConfig, RunningServer, start_server
from simulator.generate import advance

KEY = b"test-pii-key-disputes"
TOKEN = "disputes-test-token-9c41"
ENTITIES = ("case", "hotline_request")
ID_FIELD = {"case": "case_id", "hotline_request": "request_id"}
PREFIX = {"case": "cases", "hotline_request": "hotline"}
EXPORT_NAME = re.compile(r"(cases|hotline)-\d{8}\.jsonl(\.gz)?")
# Retries in milliseconds, so fault tests stay fast; 429's Retry-After is honoured up to this.
FAST = RetryPolicy(max_attempts=8, base_delay=0.001, max_delay=0.01, retry_after_cap=0.01)


# -- reading the export independently of the loader -------------------------------------------


@dataclass(frozen=True)
class Line:
    file: str
    line: int
    record: Any  # None when the line is not JSON


def export_lines(folder: Path, entity: str, names: set[str] | None = None) -> list[Line]:
    out = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.startswith(PREFIX[entity] + "-") or not EXPORT_NAME.fullmatch(path.name):
            continue
        if names is not None and path.name not in names:
            continue
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")
        for number, raw in enumerate(text.split("\n"), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                record = None
            out.append(Line(path.name, number, record))
    return out


def beijing(stamp: str) -> dt.datetime:
    """A JSON timestamp as the warehouse stores it: naive Beijing time."""
    return dt.datetime.fromisoformat(stamp).astimezone(BEIJING).replace(tzinfo=None)


def planted(manifest: dict[str, Any], treatment: str, entity: str) -> list[dict[str, Any]]:
    return [
        p
        for p in manifest["planted"]
        if p["source"] == "disputes" and p["treatment"] == treatment and p["entity"] == entity
    ]


def load_time(manifest: dict[str, Any]) -> dt.datetime:
    """Early morning after the sources' last day: every record is in the past."""
    as_of = dt.date.fromisoformat(manifest["as_of"])
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(6, 0))


def run(
    config: disputes.DisputesLoad, store: RawStore, now: dt.datetime
) -> dict[str, EntityResult]:
    return {r.entity: r for r in disputes.load(config, store, now=now)}


def export_config(sources: Path) -> disputes.DisputesLoad:
    return disputes.DisputesLoad(sources / "disputes", None, None, KEY)


def api_config(url: str, token: str = TOKEN, limit: int = 100) -> disputes.DisputesLoad:
    return disputes.DisputesLoad(None, url, token, KEY, page_limit=limit, retry=FAST)


def current(store: RawStore, entity: str, columns: str = "*") -> list[dict[str, Any]]:
    return store.query(
        f"select {columns} from raw.{entity}_current order by _record_key"
    ).to_dicts()


def hashes(store: RawStore, entity: str) -> dict[str, str]:
    return {
        r["_record_key"]: r["_row_hash"] for r in current(store, entity, "_record_key, _row_hash")
    }


def disputes_loads(store: RawStore) -> int:
    if not store.warehouse_path.exists():
        return 0
    return store.query("select count(*) from meta.loads where source = 'disputes'").item()


def clone(store: RawStore, target: Path) -> RawStore:
    """A private copy of a loaded warehouse (file and raw directory) to load into further."""
    shutil.copytree(store.warehouse_path.parent, target)
    return RawStore(target / store.warehouse_path.name)


@dataclass(frozen=True)
class Loaded:
    store: RawStore
    results: dict[str, EntityResult]
    now: dt.datetime
    log: str


@pytest.fixture(scope="module")
def export_load(
    demo_sources: Path, demo_manifest: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    store = RawStore(tmp_path_factory.mktemp("disputes-export") / "warehouse.duckdb")
    now = load_time(demo_manifest)
    handler = _Capture()
    logger = logging.getLogger("ingestion")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        results = run(export_config(demo_sources), store, now)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    yield Loaded(store, results, now, handler.text())


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.messages)


# -- 1. full export load ------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_full_export_load_keeps_every_good_record_once(
    export_load: Loaded, demo_sources: Path, demo_manifest: dict[str, Any], entity: str
) -> None:
    lines = export_lines(demo_sources / "disputes", entity)
    rejected = {(p["file"], p["line"]) for p in planted(demo_manifest, "rejected", entity)}
    good = [
        ln for ln in lines if isinstance(ln.record, dict) and (ln.file, ln.line) not in rejected
    ]
    expected = {ln.record[ID_FIELD[entity]] for ln in good}
    rows = current(export_load.store, entity)
    assert [r["_record_key"] for r in rows] == sorted(expected)
    result = export_load.results[entity]
    assert (result.rows_read, result.rows_new, result.rows_updated) == (
        len(lines),
        len(expected),
        0,
    )
    assert result.report["duplicates"] == len(good) - len(expected)
    # The history holds one version per key: duplicates were resolved before writing.
    history = export_load.store.query(
        f"select count(*) as n, count(distinct _record_key) as k from raw.{entity}"
    ).row(0)
    assert history == (len(expected), len(expected))
    # The version kept is the one with the greatest updated_at (tie: later file, line).
    latest: dict[str, tuple[str, str, int]] = {}
    for ln in good:
        stamp = dt.datetime.fromisoformat(ln.record["updated_at"]).isoformat()
        key = ln.record[ID_FIELD[entity]]
        latest[key] = max(latest.get(key, ("", "", 0)), (stamp, ln.file, ln.line))
    kept = {r["_record_key"]: (r["_source_file"], r["_source_line"]) for r in rows}
    assert kept == {k: (f, n) for k, (_, f, n) in latest.items()}


def test_quarantine_holds_exactly_the_planted_rejects(
    export_load: Loaded, demo_manifest: dict[str, Any]
) -> None:
    found = export_load.store.query(
        "select entity, record_key, rule, column_name, file, line from quarantine.records "
        "where source = 'disputes'"
    ).rows()
    expected = [
        (e, p["key"], p["rule"], p.get("column"), p["file"], p["line"])
        for e in ENTITIES
        for p in planted(demo_manifest, "rejected", e)
    ]
    assert len(expected) == 10
    assert sorted(found, key=str) == sorted(expected, key=str)
    for entity in ENTITIES:
        by_rule: dict[str, int] = {}
        for p in planted(demo_manifest, "rejected", entity):
            by_rule[p["rule"]] = by_rule.get(p["rule"], 0) + 1
        assert export_load.results[entity].quarantined_by_rule == by_rule


def test_flags_exactly_the_planted_records(
    export_load: Loaded, demo_manifest: dict[str, Any]
) -> None:
    for entity in ENTITIES:
        expected = {(p["key"], p["rule"]) for p in planted(demo_manifest, "flagged", entity)}
        assert expected
        rows = current(export_load.store, entity, "_record_key, _quality_flags")
        found = {(r["_record_key"], flag) for r in rows for flag in r["_quality_flags"]}
        assert found == expected
        # Every version in the history carries the same bad value, and nothing else is flagged.
        flagged_keys = export_load.store.query(
            f"select distinct _record_key from raw.{entity} where len(_quality_flags) > 0"
        )["_record_key"].to_list()
        assert set(flagged_keys) == {k for k, _ in expected}


def test_gzip_file_is_read_and_part_file_ignored(
    export_load: Loaded, demo_sources: Path, demo_manifest: dict[str, Any]
) -> None:
    reconciled = planted(demo_manifest, "reconciled", "case")
    (gz,) = [p["file"] for p in reconciled if p["rule"] == "gzip_file"]
    gz_lines = export_lines(demo_sources / "disputes", "case", {gz})
    assert gz_lines
    store = export_load.store
    # Its records are all loaded (in their latest version, which may come from a later file).
    live = {r["_record_key"] for r in current(store, "case", "_record_key")}
    assert {ln.record["case_id"] for ln in gz_lines} <= live
    sizes = dict(store.query("select file, size from meta.files where source = 'disputes'").rows())
    assert sizes[gz] == (demo_sources / "disputes" / gz).stat().st_size
    (part,) = [p for p in reconciled if p["rule"] == "part_file"]
    assert part["file"] not in sizes
    assert (
        store.query("select count(*) from raw.case where _record_key = ?", [part["key"]]).item()
        == 0
    )
    on_disk = {
        p.name for p in (demo_sources / "disputes").iterdir() if EXPORT_NAME.fullmatch(p.name)
    }
    assert set(sizes) == on_disk
    assert sum(r.files for r in export_load.results.values()) == len(on_disk)


def test_gzip_record_is_loaded_from_its_file(tmp_path: Path, demo_sources: Path) -> None:
    record = dict(_template(demo_sources, "case"), case_id="C7")
    export = tmp_path / "src" / "disputes"
    export.mkdir(parents=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    (export / "cases-20240101.jsonl.gz").write_bytes(gzip.compress(line.encode("utf-8")))
    (export / "cases-20240102.jsonl.part").write_text(line.replace("C7", "C8"), encoding="utf-8")
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    results = run(export_config(tmp_path / "src"), store, dt.datetime(2025, 1, 1, 6))
    rows = current(store, "case", "_record_key, _source_file, _source_line")
    assert rows == [
        {"_record_key": "C7", "_source_file": "cases-20240101.jsonl.gz", "_source_line": 1}
    ]
    assert (results["case"].files, results["case"].rows_new) == (1, 1)


def test_duplicate_key_resolved_and_schema_drift_reported(
    export_load: Loaded, demo_manifest: dict[str, Any]
) -> None:
    (dup,) = [
        p for p in planted(demo_manifest, "reconciled", "case") if p["rule"] == "duplicate_key"
    ]
    versions = export_load.store.query(
        "select count(*) from raw.case where _record_key = ?", [dup["key"]]
    )
    assert versions.item() == 1
    reconciled = planted(demo_manifest, "reconciled", "hotline_request")
    (drift,) = [p for p in reconciled if p["rule"] == "schema_drift"]
    assert export_load.results["hotline_request"].report["schema_drift"] == {
        drift["file"]: [drift["column"]]
    }
    assert "schema_drift" not in export_load.results["case"].report
    columns = export_load.store.query("describe raw.hotline_request")["column_name"].to_list()
    assert drift["column"] not in columns


def test_case_lists_are_typed_and_keep_their_order(export_load: Loaded, demo_sources: Path) -> None:
    lines = [ln for ln in export_lines(demo_sources / "disputes", "case") if ln.record]
    rows = {r["_record_key"]: r for r in current(export_load.store, "case")}
    source = {(ln.file, ln.line): ln.record for ln in lines if ln.record.get("case_id") in rows}
    checked = 0
    for key, row in rows.items():
        record = source[(row["_source_file"], row["_source_line"])]
        assert record["case_id"] == key
        assert row["claim_types"] == record["claim_types"]
        assert [(e["type"], e["at"]) for e in row["events"]] == [
            (e["type"], beijing(e["at"])) for e in record["events"]
        ]
        assert [c["member_id"] for c in row["claimants"]] == [
            c["member_id"] for c in record["claimants"]
        ]
        assert [c["employment_form"] for c in row["claimants"]] == [
            c["employment_form"] for c in record["claimants"]
        ]
        assert [c["id_number_hmac"] for c in row["claimants"]] == pseudonymise(
            [c["id_number"] for c in record["claimants"]], KEY
        )
        assert row["employer_uscc"] == record["employer"]["uscc"]
        assert row["employer_industry_code"] == record["employer"]["industry_code"]
        checked += 1
    assert checked == len(rows) > 0
    # Facts derived from the ID number before it was discarded.
    births = [c["id_birth_date"] for r in rows.values() for c in r["claimants"] if c["id_valid"]]
    assert births and all(isinstance(b, dt.date) for b in births)


# -- 2. and 3. incremental export loads ---------------------------------------------------------


def test_second_identical_run_loads_nothing(
    export_load: Loaded, tmp_path: Path, demo_sources: Path
) -> None:
    store = clone(export_load.store, tmp_path / "wh")
    files_before = store.query("select count(*) from meta.files").item()
    results = run(export_config(demo_sources), store, export_load.now + dt.timedelta(hours=1))
    for entity in ENTITIES:
        r = results[entity]
        assert (r.rows_read, r.rows_new, r.rows_updated, r.rows_quarantined, r.files) == (
            0, 0, 0, 0, 0,
        )  # fmt: skip
        assert r.watermark == export_load.results[entity].watermark
        assert hashes(store, entity) == hashes(export_load.store, entity)
    assert store.query("select count(*) from meta.files").item() == files_before
    assert store.query("select count(*) from quarantine.records").item() == 10


def test_advanced_day_loads_exactly_the_new_files(
    export_load: Loaded, demo_copy: Path, tmp_path: Path
) -> None:
    store = clone(export_load.store, tmp_path / "wh")
    folder = demo_copy / "disputes"
    before_files = {p.name for p in folder.iterdir()}
    before = {e: {r["_record_key"]: r for r in current(store, e)} for e in ENTITIES}
    advance(demo_copy, 1, quiet=True)
    new_files = {p.name for p in folder.iterdir()} - before_files
    manifest = json.loads((demo_copy / "manifest.json").read_text(encoding="utf-8"))
    results = run(export_config(demo_copy), store, load_time(manifest))
    for entity in ENTITIES:
        lines = export_lines(folder, entity, new_files)
        assert all(isinstance(ln.record, dict) for ln in lines)
        latest: dict[str, str] = {}
        for ln in lines:
            key, stamp = ln.record[ID_FIELD[entity]], ln.record["updated_at"]
            latest[key] = max(latest.get(key, stamp), stamp)
        new = set(latest) - set(before[entity])
        changed = set(latest) & set(before[entity])
        r = results[entity]
        assert lines, f"advance wrote no {entity} records"
        assert (r.rows_read, r.rows_new, r.rows_updated, r.rows_quarantined) == (
            len(lines), len(new), len(changed), 0,
        )  # fmt: skip
        assert r.files == len({ln.file for ln in lines})
        after = {row["_record_key"]: row for row in current(store, entity)}
        assert set(after) == set(before[entity]) | set(latest)
        for key, stamp in latest.items():
            assert after[key]["updated_at"] == beijing(stamp)
            assert after[key]["_source_file"] in new_files
        untouched = set(before[entity]) - set(latest)
        assert all(after[k]["_row_hash"] == before[entity][k]["_row_hash"] for k in untouched)


# -- bad files and bad records ------------------------------------------------------------------


def _template(demo_sources: Path, entity: str) -> dict[str, Any]:
    for ln in export_lines(demo_sources / "disputes", entity):
        if isinstance(ln.record, dict) and ln.record.get("claimants", [None]):
            return ln.record
    raise AssertionError("no template record")


def _write(folder: Path, name: str, records: list[Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    )
    (folder / name).write_text(text, encoding="utf-8")


def test_broken_files_stop_the_load_naming_the_file(tmp_path: Path, demo_sources: Path) -> None:
    record = _template(demo_sources, "case")
    export = tmp_path / "src" / "disputes"
    _write(export, "cases-20240101.jsonl", [record])
    (export / "cases-20240102.jsonl.gz").write_bytes(b"this is plain text, not gzip\n")
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    now = dt.datetime(2025, 1, 1, 6)
    with pytest.raises(ContractViolation, match=r"cases-20240102\.jsonl\.gz.*gzip"):
        run(export_config(tmp_path / "src"), store, now)
    assert disputes_loads(store) == 0

    (export / "cases-20240102.jsonl.gz").unlink()
    phone = record["claimants"][0]["phone"]
    gb18030 = json.dumps(record, ensure_ascii=False).encode("gb18030")
    (export / "hotline-20240103.jsonl").write_bytes(b'{"request_id": "H1"}\n' + gb18030 + b"\n")
    with pytest.raises(
        ContractViolation, match=r"hotline-20240103\.jsonl: line 2 is not UTF-8"
    ) as exc:
        run(export_config(tmp_path / "src"), store, now)
    assert phone not in str(exc.value)
    assert disputes_loads(store) == 0


def test_nested_parts_are_validated(tmp_path: Path, demo_sources: Path) -> None:
    base = _template(demo_sources, "case")
    claimant = base["claimants"][0]

    def case(key: str, **changes: Any) -> dict[str, Any]:
        return dict(base, case_id=key, **changes)

    employer = base["employer"]
    records = [
        case("C1", claim_types=[]),
        case("C2", claim_types=None),
        case("C3", events=[*base["events"], {"type": "APPEAL", "at": base["updated_at"]}]),
        case("C4", events=[{"type": "RECEIVED", "at": "yesterday"}]),
        case("C5", events=[{"type": "RECEIVED", "at": "2031-01-01T09:00:00+08:00"}]),
        case("C6", events=[{"type": "RECEIVED", "at": "1948-01-01T09:00:00+08:00"}]),
        case("C7", employer=dict(employer, industry_code="0000")),
        case("C8", claimants=[dict(claimant, employment_form="GIG")]),
        case("C9", case_no={"nested": "object"}),
        case("C10", claimants="not a list"),
        case("C11", employer=dict(employer, rating="AAA"), claimants=[dict(claimant, wechat="x")]),
        "[1, 2, 3]",
    ]
    _write(tmp_path / "src" / "disputes", "cases-20240101.jsonl", records)
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    results = run(export_config(tmp_path / "src"), store, dt.datetime(2025, 1, 1, 6))
    found = store.query(
        "select record_key, rule, column_name, value, line from quarantine.records order by line"
    ).rows()
    assert found == [
        ("C1", "unknown_code", "claim_types", "[]", 1),
        ("C2", "missing_required", "claim_types", None, 2),
        ("C3", "unknown_code", "events", "APPEAL", 3),
        ("C4", "wrong_type", "events", "yesterday", 4),
        ("C5", "future_date", "events", "2031-01-01T09:00:00+08:00", 5),
        ("C6", "date_before_1949", "events", "1948-01-01T09:00:00+08:00", 6),
        ("C7", "unknown_code", "employer_industry_code", "0000", 7),
        ("C8", "unknown_code", "claimants", "GIG", 8),
        ("C9", "wrong_type", "case_no", "<object>", 9),
        ("C10", "wrong_type", "claimants", "<str>", 10),
        (None, "malformed_json", None, None, 12),
    ]
    assert [r["_record_key"] for r in current(store, "case")] == ["C11"]
    assert results["case"].report["schema_drift"] == {
        "cases-20240101.jsonl": ["claimants.wechat", "employer.rating"]
    }


# -- 4. the API transport -----------------------------------------------------------------------


@pytest.fixture
def server(demo_sources: Path) -> Iterator[RunningServer]:
    with start_server(demo_sources / "disputes", TOKEN) as running:
        yield running


def test_api_with_faults_matches_the_export(
    export_load: Loaded, demo_sources: Path, tmp_path: Path
) -> None:
    faults = FaultConfig(rate_429=0.2, rate_5xx=0.2, retry_after=2, seed=11)
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    with start_server(demo_sources / "disputes", TOKEN, faults=faults) as srv:
        results = run(api_config(srv.url, limit=60), store, export_load.now)
        stats = srv.stats
    for entity in ENTITIES:
        assert hashes(store, entity) == hashes(export_load.store, entity)
        assert results[entity].watermark == export_load.results[entity].watermark
    assert stats["faults_429"] > 0 and stats["faults_5xx"] > 0
    reports = [results[e].report for e in ENTITIES]
    assert sum(r["retries"]["429"] for r in reports) == stats["faults_429"]
    assert sum(r["retries"]["5xx"] for r in reports) == stats["faults_5xx"]
    assert sum(r["pages"] for r in reports) == stats["served"]
    assert [r["records"] for r in reports] == [
        stats["records"]["cases"],
        stats["records"]["hotline-requests"],
    ]
    assert results["hotline_request"].report["schema_drift"] == {
        "/v1/hotline-requests": ["priority"]
    }
    # Only the records the API can serve are there to reject (it drops unparseable lines).
    assert results["case"].quarantined_by_rule == {
        "date_before_1949": 1, "negative_money": 1, "unknown_code": 1, "wrong_type": 1,
    }  # fmt: skip
    assert store.query("select count(*) from raw.case where _source_file is not null").item() == 0

    # A rerun asks only for the overlap window and writes nothing new.
    with start_server(demo_sources / "disputes", TOKEN) as srv:
        again = run(api_config(srv.url, limit=500), store, export_load.now + dt.timedelta(hours=1))
    for entity in ENTITIES:
        r = again[entity]
        assert (r.rows_new, r.rows_updated, r.rows_quarantined) == (0, 0, 0)
        assert 0 < r.rows_read == r.rows_unchanged < results[entity].rows_read
        assert r.report["updated_since"] is not None


def test_api_record_with_a_lone_surrogate_is_malformed_not_fatal() -> None:
    """A \\ud800 escape without its pair decodes to no Unicode text: as in the export, the
    record is passed on as text (quarantined as malformed_json), its page goes on."""
    from ingestion.disputes.api import _body

    response = requests.Response()
    response._content = (
        b'{"data": [{"case_id": "C1", "facts": "\\ud800 x"}, {"case_id": "C2"}], '
        b'"next_cursor": null}'
    )
    data = _body("/v1/cases", response)["data"]
    assert data[1] == {"case_id": "C2"}
    assert data[0] == '{"case_id": "C1", "facts": "\\ud800 x"}'
    collector = RecordCollector(SHAPES["case"], KEY)
    for position, record in enumerate(data, start=1):
        collector.add(record, None, position, str(record), "/v1/cases")
    assert collector.rows_read == 2 and len(collector._malformed) == 1


def test_a_fifth_of_requests_refused_failing_or_timing_out_still_loads_exact_counts(
    export_load: Loaded, demo_sources: Path, tmp_path: Path
) -> None:
    # One request in five goes wrong: 429, a 5xx, or an answer slower than the client waits.
    # The client waits 3 s (a first page at this scale can take 1 s on a busy machine).
    faults = FaultConfig(rate_429=0.07, rate_5xx=0.07, rate_slow=0.06, slow_seconds=4, seed=5)
    patient = RetryPolicy(
        max_attempts=10, base_delay=0.001, max_delay=0.01, retry_after_cap=0.01, timeout=3
    )
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    with start_server(demo_sources / "disputes", TOKEN, faults=faults) as srv:
        config = disputes.DisputesLoad(None, srv.url, TOKEN, KEY, page_limit=40, retry=patient)
        results = run(config, store, export_load.now)
        stats = srv.stats
    for entity in ENTITIES:
        assert hashes(store, entity) == hashes(export_load.store, entity)
        assert results[entity].rows_new == len(hashes(export_load.store, entity))
    retries = {
        kind: sum(results[e].report["retries"][kind] for e in ENTITIES)
        for kind in ("429", "5xx", "connection")
    }
    assert retries["429"] == stats["faults_429"] > 0
    assert retries["5xx"] == stats["faults_5xx"] > 0
    assert retries["connection"] > 0  # the timeouts
    pages = sum(results[e].report["pages"] for e in ENTITIES)
    assert stats["data_requests"] == pages + sum(retries.values())
    assert 0.12 < sum(retries.values()) / stats["data_requests"] < 0.30
    print(f"dispute API: {stats['data_requests']} requests, {pages} pages served, {retries}")


def test_api_page_failing_midway_commits_nothing_and_rerun_loads_once(
    export_load: Loaded, demo_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    store.ensure()
    srv = start_server(demo_sources / "disputes", TOKEN)
    calls = 0
    original = requests.Session.get

    def get_then_die(self: requests.Session, *args: Any, **kwargs: Any) -> requests.Response:
        nonlocal calls
        calls += 1
        if calls == 12:  # every case page (8) and a few hotline pages are in by now
            srv.stop()
            # A stopped server's handler threads would still serve kept-alive connections.
            self.close()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "get", get_then_die)
    with pytest.raises(DisputesApiError, match="hotline-requests page 4: still failing after 8"):
        run(api_config(srv.url), store, export_load.now)
    assert calls == 11 + FAST.max_attempts
    assert disputes_loads(store) == 0
    assert not list(store.raw_dir.rglob("*.parquet"))
    monkeypatch.undo()

    with start_server(demo_sources / "disputes", TOKEN) as healthy:
        results = run(api_config(healthy.url), store, export_load.now)
    for entity in ENTITIES:
        expected = hashes(export_load.store, entity)
        assert hashes(store, entity) == expected
        assert results[entity].rows_new == len(expected)
        assert store.query(f"select count(*) from raw.{entity}").item() == len(expected)


def test_api_failing_from_the_start_commits_nothing(
    export_load: Loaded, demo_sources: Path, tmp_path: Path
) -> None:
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    faults = FaultConfig(fail_first_n=100)
    with start_server(demo_sources / "disputes", TOKEN, faults=faults) as srv:
        with pytest.raises(DisputesApiError, match="/v1/cases page 1: still failing after 8"):
            run(api_config(srv.url), store, export_load.now)
        assert srv.stats["faults_fail_first_n"] == FAST.max_attempts
    assert disputes_loads(store) == 0


def test_api_bad_token_fails_at_once_without_printing_it(
    server: RunningServer, tmp_path: Path
) -> None:
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    wrong = "not-the-token-5521"
    with pytest.raises(DisputesApiError, match="refused the token") as exc:
        run(api_config(server.url, token=wrong), store, dt.datetime(2025, 1, 1, 6))
    assert wrong not in str(exc.value) and TOKEN not in str(exc.value)
    assert server.stats["unauthorized"] == 1
    assert disputes_loads(store) == 0
    assert wrong not in repr(api_config(server.url, token=wrong))


def test_api_honours_retry_after(demo_sources: Path) -> None:
    with start_server(
        demo_sources / "disputes", TOKEN, faults=FaultConfig(rate_429=0.5, retry_after=3, seed=5)
    ) as srv:
        slept: list[float] = []
        api = DisputesApi(srv.url, TOKEN, RetryPolicy(retry_after_cap=10), sleep=slept.append)
        stats = FetchStats("/v1/cases", None)
        records = list(api.records("case", None, 200, stats))
        api.close()
        assert len(records) == srv.stats["records"]["cases"]
        assert slept == [3.0] * srv.stats["faults_429"] and slept
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, retry_after_cap=10)
    assert policy.retry_after("120", 1) == 10
    assert 2.0 <= policy.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 3) <= 4.0
    assert 2.0 <= policy.backoff(10) <= 4.0


# -- 5. personal data ---------------------------------------------------------------------------


NUMBER = re.compile(r"[0-9]{9,17}[0-9Xx]?")


def plain_pii(folder: Path) -> tuple[set[str], set[str]]:
    """(ID numbers and phones, names) of every claimant and caller in the export."""
    numbers: set[str] = set()
    names: set[str] = set()
    for entity in ENTITIES:
        for ln in export_lines(folder, entity):
            if not isinstance(ln.record, dict):
                continue
            for c in ln.record.get("claimants") or []:
                names.add(c["name"])
                numbers |= {v.upper() for v in (c["id_number"], c["phone"]) if v}
            phone = (ln.record.get("caller") or {}).get("phone")
            if phone:
                numbers.add(phone)
    return numbers, names


def written_text(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[set[str], set[str]]:
    """Digit runs anywhere in the relation's rows, and every string value, nested included."""
    as_json = "to_json(t)::varchar"
    runs = con.execute(
        f"select distinct unnest(regexp_extract_all({as_json}, '[0-9]{{9,17}}[0-9Xx]?')) "
        f"from {relation} t"
    ).fetchall()
    strings = con.execute(
        f'select distinct unnest(regexp_extract_all({as_json}, \'"([^"]*)"\', 1)) from {relation} t'
    ).fetchall()
    return {r[0].upper() for r in runs}, {r[0] for r in strings}


def assert_no_pii(store: RawStore, folder: Path, log: str = "") -> None:
    numbers, names = plain_pii(folder)
    assert len(numbers) > 1000 and len(names) > 500
    parquet = sorted(store.raw_dir.rglob("*.parquet"))
    assert any("_quarantine" in p.parts for p in parquet)
    seen_numbers: set[str] = set()
    seen_strings: set[str] = set()
    with duckdb.connect() as con:
        for path in parquet:
            n, s = written_text(con, f"read_parquet('{path}')")
            seen_numbers |= n
            seen_strings |= s
    with duckdb.connect(str(store.warehouse_path), read_only=True) as con:
        for relation in ("meta.loads", "meta.files"):
            n, s = written_text(con, relation)
            seen_numbers |= n
            seen_strings |= s
    assert seen_strings, "nothing was scanned"
    assert not seen_numbers & numbers
    assert not seen_strings & (names | numbers)
    assert not set(NUMBER.findall(log)) & numbers
    assert not any(name in log for name in names)


def test_no_plain_personal_data_is_written(export_load: Loaded, demo_sources: Path) -> None:
    assert_no_pii(export_load.store, demo_sources / "disputes", export_load.log)
    assert "schema_drift" in export_load.log or "outside the contract" in export_load.log


def test_no_plain_personal_data_via_the_api(
    server: RunningServer, demo_sources: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RawStore(tmp_path / "wh" / "warehouse.duckdb")
    with caplog.at_level(logging.DEBUG, logger="ingestion"):
        run(api_config(server.url), store, dt.datetime(2025, 1, 1, 6))
    assert_no_pii(store, demo_sources / "disputes", caplog.text)
