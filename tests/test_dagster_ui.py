"""The README's way to start the Dagster UI serves the code location: its GraphQL API lists
every asset group, asset check, schedule and sensor of the definitions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from servers import free_port, wait_until_up

from orchestration.definitions import defs

ROOT = Path(__file__).resolve().parents[1]
QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        schedules { name }
        sensors { name }
        assetGroups { groupName }
        assetNodes {
          assetKey { path }
          assetChecksOrError { ... on AssetChecks { checks { name } } }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # What `make ui` runs, without the daemon.
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")),
         "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(f"{url}/server_info", proc, 120)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_graphql_lists_every_group_check_schedule_and_sensor(webserver: str) -> None:
    response = requests.post(f"{webserver}/graphql", json={"query": QUERY}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body.get("errors")
    (repo,) = body["data"]["repositoriesOrError"]["nodes"]

    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    checks = {(tuple(k.asset_key.path), k.name) for k in graph.asset_check_keys}
    assert {g["groupName"] for g in repo["assetGroups"]} == groups == {
        "membership", "disputes", "services", "serving", "warehouse_reference",
        "warehouse_staging", "warehouse_intermediate", "warehouse_marts",
    }  # fmt: skip
    served_checks = {
        (tuple(node["assetKey"]["path"]), check["name"])
        for node in repo["assetNodes"]
        for check in node["assetChecksOrError"].get("checks", [])
    }
    assert served_checks == checks
    assert (("raw", "membership", "member"), "validity") in served_checks
    assert len(repo["assetNodes"]) == len(graph.get_all_asset_keys())
    assert [s["name"] for s in repo["schedules"]] == ["daily_refresh", "weekly_full_refresh"]
    assert [s["name"] for s in repo["sensors"]] == ["refresh_on_arrival", "services_landing_sensor"]
