"""The dispute-API simulator over real HTTP on loopback, against hand-written exports."""

import argparse
import base64
import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.api_server import (
    FaultConfig,
    RunningServer,
    add_arguments,
    load_records,
    run_from_args,
    scan_export,
    start_server,
)

TOKEN = "test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def case(case_id: str, updated_at: str, **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "status": "MEDIATING", "updated_at": updated_at, **extra}


def hotline(request_id: str, updated_at: str, **extra: Any) -> dict[str, Any]:
    return {"request_id": request_id, "status": "OPEN", "updated_at": updated_at, **extra}


def write_lines(path: Path, lines: list[dict[str, Any] | str]) -> None:
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
        for line in lines
    )
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture()
def export_dir(tmp_path: Path) -> Path:
    d = tmp_path / "export"
    d.mkdir()
    write_lines(
        d / "cases-20240301.jsonl",
        [
            case("C1", "2024-03-01T09:00:00+08:00", v=1),
            case("C2", "2024-03-01T10:00:00+08:00", v=1),
            '{"case_id": "C9", "updated_at": ',  # truncated JSON
            "[1, 2]",  # valid JSON, not a record
            {"status": "OPEN", "updated_at": "2024-03-01T10:00:00+08:00"},  # no id
            case("C8", "yesterday"),  # unparseable updated_at
            "",  # blank lines are padding, not bad input
            case("C3", "2024-03-01T10:00:00+08:00", v=1),
        ],
    )
    # Compressed files take their place in date order like plain ones.
    write_lines(
        d / "cases-20240302.jsonl.gz",
        [
            # Unknown code and extra field: still served as is, for the pipeline to quarantine.
            case("C1", "2024-03-02T08:00:00+08:00", v=2, status="ESCALATED", x_debug=True),
            case("C2", "2024-02-28T10:00:00+08:00", v=0),  # older than what we have: loses
        ],
    )
    write_lines(
        d / "cases-20240303.jsonl",
        [
            case("C3", "2024-03-01T10:00:00+08:00", v=2),  # tie with v1: later file wins
            case("C4", "2024-03-03T12:00:00+08:00", v=1, employer={"name": "北京某某科技有限公司"}),
        ],
    )
    write_lines(
        d / "cases-20240304.jsonl.part",
        [
            case("C5", "2024-03-04T09:00:00+08:00", v=1),
            case("C1", "2024-03-04T09:00:00+08:00", v=3),
        ],
    )
    write_lines(d / "notes-20240301.jsonl", [case("C6", "2024-03-01T09:00:00+08:00")])
    write_lines(
        d / "hotline-20240301.jsonl",
        [
            hotline("H1", "2024-03-01T08:00:00+08:00", v=1),
            hotline("H2", "2024-03-01T09:00:00+08:00", v=1),
            hotline("H2", "2024-03-01T09:00:00+08:00", v=2),  # same file, same time: later line
            {"request_id": "H7", "status": "OPEN"},  # no updated_at
        ],
    )
    write_lines(
        d / "hotline-20240302.jsonl",
        [
            hotline("H3", "2024-03-02T09:00:00", v=1),  # naive: read as +08:00
            hotline("H1", "2024-03-02T07:00:00+08:00", v=2),
        ],
    )
    write_lines(d / "hotline-20240303.jsonl.gz.part", [hotline("H4", "2024-03-03T09:00:00+08:00")])
    return d


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        # A proxy from the environment must not intercept loopback traffic.
        session.trust_env = False
        yield session


@pytest.fixture()
def server(export_dir: Path) -> Iterator[RunningServer]:
    with start_server(export_dir, TOKEN) as running:
        yield running


def versions(records: list[dict[str, Any]], id_field: str = "case_id") -> list[tuple[str, int]]:
    return [(r[id_field], r["v"]) for r in records]


def get(http: requests.Session, srv: RunningServer, path: str, **params: Any) -> requests.Response:
    return http.get(srv.url + path, params=params, headers=AUTH, timeout=5)


def fetch_all(
    http: requests.Session, srv: RunningServer, path: str, cursor: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every page from `cursor` on, and how many pages that took."""
    records: list[dict[str, Any]] = []
    pages = 0
    while True:
        extra = {"cursor": cursor} if cursor else {}
        response = get(http, srv, path, **params, **extra)
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return records, pages


EXPECTED_CASES = [("C2", 1), ("C3", 2), ("C1", 2), ("C4", 1)]
EXPECTED_HOTLINE = [("H2", 2), ("H1", 2), ("H3", 1)]


def test_load_records_keeps_the_current_version_in_order(export_dir: Path) -> None:
    records = load_records(export_dir)
    assert set(records) == {"cases", "hotline-requests"}
    assert versions(records["cases"]) == EXPECTED_CASES
    assert versions(records["hotline-requests"], "request_id") == EXPECTED_HOTLINE
    c1 = records["cases"][2]
    assert c1 == {
        "case_id": "C1",
        "status": "ESCALATED",
        "updated_at": "2024-03-02T08:00:00+08:00",
        "v": 2,
        "x_debug": True,
    }


def test_scan_export_counts_unservable_lines(export_dir: Path) -> None:
    snapshot = scan_export(export_dir)
    assert snapshot.skipped == {
        "cases": {"invalid_json": 2, "missing_id": 1, "bad_updated_at": 1, "unreadable_file": 0},
        "hotline-requests": {
            "invalid_json": 0,
            "missing_id": 0,
            "bad_updated_at": 1,
            "unreadable_file": 0,
        },
    }
    assert snapshot.files == (
        "cases-20240301.jsonl",
        "hotline-20240301.jsonl",
        "cases-20240302.jsonl.gz",
        "hotline-20240302.jsonl",
        "cases-20240303.jsonl",
    )


def test_full_pagination_returns_each_record_once_in_order(
    server: RunningServer, http: requests.Session
) -> None:
    cases, pages = fetch_all(http, server, "/v1/cases", limit=2)
    assert versions(cases) == EXPECTED_CASES
    assert pages == 2  # the page holding the last record says so with a null cursor
    hotline_records, pages = fetch_all(http, server, "/v1/hotline-requests", limit=2)
    assert versions(hotline_records, "request_id") == EXPECTED_HOTLINE
    assert pages == 2
    assert server.stats["served"] == 4
    assert server.stats["records_served"] == 7


def test_response_is_utf8_json_with_default_limit(
    server: RunningServer, http: requests.Session
) -> None:
    response = get(http, server, "/v1/cases")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "北京某某科技有限公司".encode() in response.content  # not \u-escaped
    body = response.json()
    assert versions(body["data"]) == EXPECTED_CASES
    assert body["next_cursor"] is None


def test_updated_since_is_inclusive_and_timezone_aware(
    server: RunningServer, http: requests.Session
) -> None:
    # 02:00Z is 10:00+08:00: C2 and C3 sit exactly on the bound and are included.
    response = get(http, server, "/v1/cases", updated_since="2024-03-01T02:00:00Z")
    assert versions(response.json()["data"]) == [("C2", 1), ("C3", 2), ("C1", 2), ("C4", 1)]
    # A naive bound means +08:00.
    response = get(http, server, "/v1/cases", updated_since="2024-03-02T08:00:00")
    assert versions(response.json()["data"]) == [("C1", 2), ("C4", 1)]
    records, pages = fetch_all(
        http, server, "/v1/cases", updated_since="2024-03-01T10:00:01+08:00", limit=1
    )
    assert versions(records) == [("C1", 2), ("C4", 1)]
    assert pages == 2
    response = get(http, server, "/v1/hotline-requests", updated_since="2024-03-05T00:00:00+08:00")
    assert response.json() == {"data": [], "next_cursor": None}


def test_cursor_survives_a_reload_between_pages(
    export_dir: Path, server: RunningServer, http: requests.Session
) -> None:
    first = get(http, server, "/v1/cases", limit=2).json()
    assert versions(first["data"]) == [("C2", 1), ("C3", 2)]
    write_lines(
        export_dir / "cases-20240305.jsonl",
        [
            case("C2", "2024-03-05T09:00:00+08:00", v=2),  # already served: comes again, later
            case("C1", "2024-03-05T08:00:00+08:00", v=3),  # not yet served: moves, comes once
            case("C0", "2024-02-01T00:00:00+08:00", v=1),  # before the cursor: not on this run
            case("C7", "2024-03-05T10:00:00+08:00", v=1),
        ],
    )
    rest, pages = fetch_all(http, server, "/v1/cases", limit=2, cursor=first["next_cursor"])
    assert versions(rest) == [("C4", 1), ("C1", 3), ("C2", 2), ("C7", 1)]
    assert pages == 2
    assert server.stats["loads"] == 2
    assert server.stats["records"] == {"cases": 6, "hotline-requests": 3}


def test_part_file_renamed_becomes_visible(
    export_dir: Path, server: RunningServer, http: requests.Session
) -> None:
    part = export_dir / "cases-20240304.jsonl.part"
    part.rename(export_dir / "cases-20240304.jsonl")
    records, _ = fetch_all(http, server, "/v1/cases")
    assert versions(records) == [("C2", 1), ("C3", 2), ("C4", 1), ("C1", 3), ("C5", 1)]


def test_auth_is_required_and_exact(server: RunningServer, http: requests.Session) -> None:
    url = server.url + "/v1/cases"
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"bearer {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN} "},
        {"Authorization": TOKEN},
    ):
        response = http.get(url, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert TOKEN not in response.text
    assert server.stats["unauthorized"] == 5
    assert server.stats["data_requests"] == 0


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "501"}, "invalid_limit"),
        ({"limit": "ten"}, "invalid_limit"),
        ({"cursor": "garbage!"}, "invalid_cursor"),
        ({"cursor": "bm90IGpzb24"}, "invalid_cursor"),  # base64 of "not json"
        ({"updated_since": "2024-13-01"}, "invalid_updated_since"),
        ({"updated_since": "2024-03-01T10:00:00 08:00"}, "invalid_updated_since"),  # unescaped +
    ],
)
def test_bad_parameters_are_400(
    server: RunningServer, http: requests.Session, params: dict[str, str], error: str
) -> None:
    response = get(http, server, "/v1/cases", **params)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert server.stats["bad_requests"] == 1


def test_limit_bounds_are_accepted(server: RunningServer, http: requests.Session) -> None:
    assert len(get(http, server, "/v1/cases", limit=1).json()["data"]) == 1
    assert len(get(http, server, "/v1/cases", limit=500).json()["data"]) == 4


def test_cursor_of_another_collection_is_400(server: RunningServer, http: requests.Session) -> None:
    cursor = get(http, server, "/v1/hotline-requests", limit=1).json()["next_cursor"]
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert payload["id"] == "H2"
    response = get(http, server, "/v1/cases", cursor=cursor)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor"


def test_unknown_paths_health_and_stats(server: RunningServer, http: requests.Session) -> None:
    assert get(http, server, "/v1/members").status_code == 404
    assert http.get(server.url + "/healthz", timeout=5).json() == {"status": "ok"}
    refused = http.post(server.url + "/v1/cases", headers=AUTH, timeout=5)
    assert (refused.status_code, refused.headers["Connection"]) == (405, "close")
    stats = http.get(server.url + "/admin/stats", timeout=5).json()
    assert stats["requests"] == 4
    assert stats["not_found"] == 1
    assert stats["method_not_allowed"] == 1
    assert stats["records"] == {"cases": 4, "hotline-requests": 3}
    assert stats["skipped_lines"]["cases"]["invalid_json"] == 2


def test_429_carries_retry_after_and_spares_unauthenticated(
    export_dir: Path, http: requests.Session
) -> None:
    faults = FaultConfig(rate_429=1.0, retry_after=7)
    with start_server(export_dir, TOKEN, faults=faults) as srv:
        for _ in range(3):
            response = get(http, srv, "/v1/cases")
            assert response.status_code == 429
            assert response.headers["Retry-After"] == "7"
            assert response.json()["error"] == "rate_limited"
        assert http.get(srv.url + "/v1/cases", timeout=5).status_code == 401
        assert http.get(srv.url + "/healthz", timeout=5).status_code == 200
        stats = srv.stats
    assert (stats["data_requests"], stats["faults_429"], stats["served"]) == (3, 3, 0)


def test_injected_5xx_are_seeded(export_dir: Path, http: requests.Session) -> None:
    def statuses(faults: FaultConfig) -> tuple[list[int], dict[str, Any]]:
        with start_server(export_dir, TOKEN, faults=faults) as srv:
            codes = [get(http, srv, "/v1/cases").status_code for _ in range(12)]
            return codes, srv.stats

    all_fail, stats = statuses(FaultConfig(rate_5xx=1.0, seed=3))
    assert set(all_fail) <= {500, 502, 503}
    assert stats["faults_5xx"] == 12
    mixed, stats = statuses(FaultConfig(rate_5xx=0.5, seed=11))
    again, _ = statuses(FaultConfig(rate_5xx=0.5, seed=11))
    assert mixed == again  # same seed, same sequence
    failures = sum(code != 200 for code in mixed)
    assert 0 < failures < 12
    assert stats["faults_5xx"] == failures
    assert stats["served"] == 12 - failures


def test_fail_first_n_is_exact(export_dir: Path, http: requests.Session) -> None:
    with start_server(export_dir, TOKEN, faults=FaultConfig(fail_first_n=3)) as srv:
        assert http.get(srv.url + "/v1/cases", timeout=5).status_code == 401  # not counted
        codes = [get(http, srv, "/v1/cases", limit=1).status_code for _ in range(5)]
        assert codes == [503, 503, 503, 200, 200]
        stats = srv.stats
    assert (stats["faults_fail_first_n"], stats["faults_5xx"], stats["served"]) == (3, 0, 2)


def test_slow_responses_are_delayed(export_dir: Path, http: requests.Session) -> None:
    faults = FaultConfig(rate_slow=1.0, slow_seconds=0.3)
    with start_server(export_dir, TOKEN, faults=faults) as srv:
        started = time.monotonic()
        response = get(http, srv, "/v1/cases")
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert elapsed >= 0.3
        assert srv.stats["faults_slow"] == 1


def test_fault_config_rejects_impossible_rates() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rate_429=1.5)
    with pytest.raises(ValueError):
        FaultConfig(rate_429=0.6, rate_5xx=0.6)


def test_non_loopback_host_is_refused(export_dir: Path) -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        start_server(export_dir, TOKEN, host="0.0.0.0")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--export-dir", str(export_dir), "--host", "0.0.0.0"])
    assert run_from_args(args) == 2


def test_cli_defaults_hide_the_token(monkeypatch: pytest.MonkeyPatch, export_dir: Path) -> None:
    monkeypatch.setenv("UNIONWH_DISPUTES_API_TOKEN", "secret-from-env")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert "secret-from-env" not in parser.format_help()
    args = parser.parse_args(["--export-dir", str(export_dir)])
    assert (args.host, args.port, args.token, args.allow_remote) == (
        "127.0.0.1",
        8351,
        None,
        False,
    )
