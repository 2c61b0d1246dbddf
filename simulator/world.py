"""The simulated world: every record of the three systems, planned through the horizon, kept
as Parquet beside the outputs so `advance` and the ground truth work from the same records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import polars as pl

from simulator import calibration as cal
from simulator.disputes import build_cases, build_hotline
from simulator.membership import build_honors, build_members, build_unions
from simulator.services import (
    build_deliveries,
    build_programs,
    build_station_visits,
    build_stations,
)

STATE_DIR = "_simulator"


@dataclass
class World:
    unions: pl.DataFrame
    members: pl.DataFrame
    events: pl.DataFrame
    honors: pl.DataFrame
    cases: pl.DataFrame
    case_events: pl.DataFrame
    hotline: pl.DataFrame
    programs: pl.DataFrame
    stations: pl.DataFrame
    deliveries: pl.DataFrame
    station_visits: pl.DataFrame

    def save(self, out: Path) -> None:
        folder = out / STATE_DIR / "world"
        folder.mkdir(parents=True, exist_ok=True)
        for f in fields(self):
            getattr(self, f.name).write_parquet(folder / f"{f.name}.parquet", statistics=False)

    @classmethod
    def load(cls, out: Path) -> World:
        folder = out / STATE_DIR / "world"
        return cls(**{f.name: pl.read_parquet(folder / f"{f.name}.parquet") for f in fields(cls)})


@dataclass(frozen=True)
class Plan:
    """Where the federation's activity happens and how many unions it has: the demo's city
    by default; shapes (simulator/shapes.py) change it."""

    # The districts the federation covers (sorted codes) and the share of activity in each.
    weights: Mapping[str, float] = field(default_factory=lambda: dict(cal.DISTRICT_WEIGHTS))
    # Scale factor of the union count alone; None: the world's scale.
    union_scale: float | None = None


def build_world(seed: int, scale: float, progress: Any = None, plan: Plan | None = None) -> World:
    say = progress or (lambda _msg: None)
    plan = plan or Plan()
    weights = plan.weights
    say("membership: unions")
    unions = build_unions(seed, plan.union_scale or scale, weights)
    say("membership: members and events")
    members, events = build_members(seed, scale, unions)
    honors = build_honors(seed, scale, unions, members)
    say("disputes: cases and hotline requests")
    cases, case_events = build_cases(seed, scale, unions, members, weights)
    hotline = build_hotline(seed, scale, unions, members, cases, weights)
    say("services: catalogue, stations, deliveries, visits")
    programs = build_programs(seed, scale, unions)
    stations = build_stations(seed, scale, weights)
    deliveries = build_deliveries(seed, scale, unions, members, programs, stations, weights)
    visits = build_station_visits(seed, stations, weights)
    return World(
        unions, members, events, honors, cases, case_events, hotline, programs, stations,
        deliveries, visits,
    )  # fmt: skip


def read_state(out: Path) -> dict[str, Any]:
    return json.loads((out / STATE_DIR / "state.json").read_text(encoding="utf-8"))


def write_state(out: Path, state: dict[str, Any]) -> None:
    (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    text = json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True)
    (out / STATE_DIR / "state.json").write_text(text + "\n", encoding="utf-8")
