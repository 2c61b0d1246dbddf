"""Eight reader processes query the serving file while the whole pipeline runs a full refresh
and publishes: no query fails, and each sees the old or the new version whole. The readers
(``serving_reader.py``) query back to back while the publication is staged and just after
its swap, a query a second otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pipeline import materialize
from serving_reader import IDLE, STAGED, SWAPPED

from serving.publish import current_version, publish

READERS = 8
READER = Path(__file__).with_name("serving_reader.py")


def test_readers_never_fail_or_see_a_mix_during_refresh_and_publication(
    demo_sources: Path, quality_base: Path, tmp_path: Path
) -> None:
    serving = tmp_path / "out" / "serving.duckdb"
    old = publish(quality_base, serving).version
    stop = tmp_path / "stop"
    reports = [tmp_path / f"reader-{i}.json" for i in range(READERS)]
    readers = [
        subprocess.Popen([sys.executable, str(READER), str(serving), str(stop), str(report)])
        for report in reports
    ]
    try:
        time.sleep(2)
        materialize(demo_sources, tmp_path)  # full refresh into a new warehouse, then publish
        new = current_version(serving)
        time.sleep(2)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)

    assert new is not None and new != old
    seen = [json.loads(r.read_text(encoding="utf-8")) for r in reports]
    assert [s["failures"] for s in seen] == [[]] * READERS
    assert [s["mixed"] for s in seen] == [0] * READERS
    assert all(set(s["versions"]) <= {old, new} for s in seen)
    assert all(s["versions"].get(old, 0) > 0 and s["versions"].get(new, 0) > 0 for s in seen)
    # Every reader read throughout the run and in the publication's window; some of their
    # queries opened the file while the new one was being written beside it.
    assert all(s["moments"].get(IDLE, 0) >= 10 for s in seen)
    assert all(s["moments"].get(STAGED, 0) + s["moments"].get(SWAPPED, 0) > 0 for s in seen)
    assert sum(s["moments"].get(STAGED, 0) for s in seen) > 0
