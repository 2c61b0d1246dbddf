"""`generate` and `advance`: build the world, publish it as the three source systems show it on
a given day, plant bad input, and write the manifest and the ground truth."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from simulator import calibration as cal
from simulator import planting, shapes
from simulator.checks import expected_checks, summary
from simulator.randomness import stream
from simulator.truth import write_expected_kpis
from simulator.world import STATE_DIR, World, build_world, read_state, write_state
from simulator.writers import (
    create_membership_db,
    membership_tables,
    write_dispute_export,
    write_landing,
    write_membership_delta,
    write_membership_full,
)


class Progress:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(
                f"[{time.perf_counter() - self.start:7.1f}s] {message}", file=sys.stderr, flush=True
            )


SHAPE_FILE = "shape.json"


def default_db_url(out: Path) -> str:
    return f"sqlite:///{(out / 'membership.db').resolve()}"


def generate(
    out: Path,
    scale: float,
    seed: int,
    db_url: str | None = None,
    plant: bool = True,
    quiet: bool = False,
    shape: Iterable[str] = (),
) -> dict[str, Any]:
    """Generate the sources as of the base date; ``shape`` names shapes (simulator/shapes.py),
    none for the demo's world."""
    say = Progress(quiet)
    if scale <= 0:
        raise ValueError("scale must be positive")
    chosen = shapes.parse_shapes(shape)
    for sub in ("disputes", "landing", STATE_DIR):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / SHAPE_FILE).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(seed, scale, say, shapes.plan_for(chosen))
    as_of = cal.BASE_AS_OF
    manifest: list[dict[str, Any]] = []
    if plant:
        manifest += planting.plant_in_world(world, stream(seed, "plant-world"))
    shaped = shapes.reshape(world, chosen, seed, as_of, manifest)
    services = shapes.services_published(chosen, as_of)
    # Deliveries planted in the world are listed once their files are published.
    pending = [] if services else [p for p in manifest if p["source"] == "services"]
    manifest = [p for p in manifest if p not in pending]

    url = db_url or default_db_url(out)
    say(f"writing membership database ({sa.make_url(url).get_backend_name()})")
    engine = create_membership_db(url)
    counts: dict[str, Any] = {"membership": write_membership_full(engine, world, as_of)}
    say("writing dispute export")
    counts["disputes"] = write_dispute_export(out / "disputes", world, None, as_of)
    say("writing service landing directory")
    counts["services"] = write_landing(out / "landing", world, None, as_of, activity=services)
    if plant:
        say("planting bad input")
        manifest += planting.plant_in_outputs(
            out, engine, world, stream(seed, "plant-out"), as_of, services
        )
    engine.dispose()

    # The default database lives beside the outputs; recording no path keeps outputs
    # byte-identical wherever they are written.
    state = {
        "seed": seed,
        "scale": scale,
        "as_of": as_of.isoformat(),
        "db_url": db_url,
        "plant": plant,
    }
    if chosen:  # the demo's state stays as it was
        state["shapes"] = list(chosen)
    if pending:
        state["pending_plants"] = pending
    say("saving world state and ground truth")
    world.save(out)
    write_state(out, state)
    write_manifest(out, state, manifest, counts)
    write_expected_kpis(out, shapes.visible(world, chosen, as_of), as_of)
    if chosen:
        write_shape(out, state, world, shaped)
    say("done")
    return {"state": state, "counts": counts, "planted": len(manifest)}


def advance(out: Path, days: int, quiet: bool = False) -> dict[str, Any]:
    """Reveal `days` more days of the planned world: new and changed records, new files, a
    revision of one new delivery file and a hard delete in the membership database."""
    say = Progress(quiet)
    if days < 1:
        raise ValueError("days must be >= 1")
    state = read_state(out)
    world = World.load(out)
    chosen = tuple(state.get("shapes", ()))
    old_as_of = dt.date.fromisoformat(state["as_of"])
    as_of = old_as_of + dt.timedelta(days=days)
    if as_of > cal.HORIZON_END:
        raise ValueError(
            f"the simulated world ends on {cal.HORIZON_END}; cannot advance to {as_of}"
        )
    rng = stream(state["seed"], f"advance-{as_of.isoformat()}")
    engine = sa.create_engine(state["db_url"] or default_db_url(out))
    old_tables = membership_tables(world, old_as_of)
    manifest: list[dict[str, Any]] = []
    if state.get("plant", True):
        manifest += planting.hard_delete(world, rng, old_as_of)
    say(f"advancing {old_as_of} -> {as_of}")
    counts: dict[str, Any] = {
        "membership": write_membership_delta(engine, world, old_tables, as_of)
    }
    if state.get("plant", True):
        manifest += planting.late_commit(engine, old_tables, rng)
    counts["disputes"] = write_dispute_export(out / "disputes", world, old_as_of, as_of)
    # The empty-services shape publishes every delivery and visit with the first new day.
    reveal = not shapes.services_published(chosen, old_as_of)
    counts["services"] = write_landing(
        out / "landing",
        world,
        old_as_of,
        as_of,
        activity=shapes.services_published(chosen, as_of),
        activity_from_start=reveal,
    )
    if state.get("plant", True):
        if reveal:  # the delivery and visit plants generate could not make
            manifest += state.pop("pending_plants", [])
            manifest += planting.plant_services(
                out / "landing", world, stream(state["seed"], "plant-out")
            )
        manifest += planting.revise_delivery_file(out / "landing", world, rng, old_as_of, as_of)
    engine.dispose()
    state["as_of"] = as_of.isoformat()
    world.save(out)
    write_state(out, state)
    write_manifest(out, state, manifest, counts, append=True)
    write_expected_kpis(out, shapes.visible(world, chosen, as_of), as_of)
    if chosen:
        write_shape(out, state, world)
    say("done")
    return {"state": state, "counts": counts, "planted": len(manifest)}


def write_shape(
    out: Path, state: dict[str, Any], world: World, shaped: dict[str, Any] | None = None
) -> None:
    """shape.json: the shapes, what they did (kept from generate) and what the raw checks must
    find in the sources as of this day."""
    path = out / SHAPE_FILE
    if shaped is None:
        shaped = json.loads(path.read_text(encoding="utf-8"))["shaped"]
    as_of = dt.date.fromisoformat(state["as_of"])
    rows = expected_checks(shapes.visible(world, state["shapes"], as_of), as_of)
    document = {
        "shapes": state["shapes"],
        "as_of": state["as_of"],
        "shaped": shaped,
        "services_published": shapes.services_published(state["shapes"], as_of),
        # Facts count by their own attributes and membership events arrive with their members,
        # so no KPI waits for a late key: expected_kpis.json is exact on every day.
        "kpis_exact_only_after_keys_arrive": [],
        **summary(rows),
        "checks": rows,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_manifest(
    out: Path,
    state: dict[str, Any],
    planted: list[dict[str, Any]],
    counts: dict[str, Any],
    append: bool = False,
) -> None:
    path = out / "manifest.json"
    document = (
        json.loads(path.read_text(encoding="utf-8"))
        if append and path.exists()
        else {
            "planted": [],
            "runs": [],
        }
    )
    document.update(
        {k: state[k] for k in ("seed", "scale", "as_of")},
        db_backend=sa.make_url(state["db_url"] or "sqlite://").get_backend_name(),
    )
    if state.get("shapes"):
        document["shapes"] = state["shapes"]
    document["planted"] += planted
    document["runs"].append({"as_of": state["as_of"], "written": _jsonable(counts)})
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.integer):
        return int(value)
    return value
