"""Measuring one process: wall time, CPU time and peak RSS of that process alone, or (with
``tree=True``) of its whole process tree, sampled: a JVM that Spark starts under dbt is never
reaped by it, so ``wait4`` does not count it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.5


class StageFailed(RuntimeError):
    """A measured command exited non-zero; carries its output's tail."""


def measure(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
    tree: bool = False,
) -> dict[str, object]:
    """Run ``cmd`` and measure it. ``wait4`` returns the child's own rusage, so the figures
    are that process's (with its threads), not the harness's; a server it talks to (the
    PostgreSQL peer) is not in them. JSON lines it prints are kept as ``summary``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    assert proc.stdout is not None
    sampler = TreeSampler(proc.pid) if tree else None
    stdout = proc.stdout.read().decode(errors="replace")
    if sampler:
        sampler.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        raise StageFailed(f"{cmd} failed ({proc.returncode}):\n{stdout[-3000:]}")
    result: dict[str, object] = {
        "wall_s": round(time.perf_counter() - start, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_gib": round(usage.ru_maxrss / 1024**2, 3),
        "exit_code": proc.returncode,
        "summary": [json.loads(line) for line in stdout.splitlines() if line.startswith('{"')],
    }
    if sampler:
        result["tree_cpu_s"] = round(sampler.cpu_s, 2)
        result["tree_peak_rss_gib"] = round(sampler.peak_rss / 1024**3, 3)
    return result


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds, RSS bytes) of a live process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # After the command name: state, ppid, ..., utime (12th), stime (13th), ..., rss (22nd).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE


class TreeSampler:
    """Samples a process and its descendants every ``SAMPLE_SECONDS``: the peak of their
    summed RSS, and the CPU time each was last seen with (a process's final seconds after its
    last sample are missed, at most one interval)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_rss = 0
        self._cpu: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            stats = {}
            for entry in os.listdir("/proc"):
                if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                    stats[int(entry)] = stat
            tree, frontier = {self.root}, [self.root]
            while frontier:
                parent = frontier.pop()
                children = [pid for pid, (ppid, _, _) in stats.items() if ppid == parent]
                tree.update(children)
                frontier.extend(children)
            self.peak_rss = max(self.peak_rss, sum(stats[p][2] for p in tree if p in stats))
            for pid in tree:
                if pid in stats:
                    self._cpu[pid] = stats[pid][1]

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def python_module(args: list[str]) -> list[str]:
    """``python -m <args>`` with this interpreter."""
    return [sys.executable, "-m", *args]
