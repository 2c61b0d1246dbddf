"""Measuring one process: wall time, CPU time and peak RSS of that process alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


class StageFailed(RuntimeError):
    """A measured command exited non-zero; carries its output's tail."""


def measure(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> dict[str, object]:
    """Run ``cmd`` and measure it. ``wait4`` returns the child's own rusage, so the figures
    are that process's (with its threads), not the harness's; a server it talks to (the
    PostgreSQL peer) is not in them. JSON lines it prints are kept as ``summary``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    assert proc.stdout is not None
    stdout = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        raise StageFailed(f"{cmd} failed ({proc.returncode}):\n{stdout[-3000:]}")
    return {
        "wall_s": round(time.perf_counter() - start, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_gib": round(usage.ru_maxrss / 1024**2, 3),
        "exit_code": proc.returncode,
        "summary": [json.loads(line) for line in stdout.splitlines() if line.startswith('{"')],
    }


def python_module(args: list[str]) -> list[str]:
    """``python -m <args>`` with this interpreter."""
    return [sys.executable, "-m", *args]
