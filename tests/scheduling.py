"""How the parallel suite hands modules to its workers (conftest.pytest_xdist_make_scheduler)."""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling


class ModuleWhenDone(LoadFileScheduling):
    """``--dist loadfile``, except that a worker is given its next module only as it starts the
    last test of the modules it holds.

    xdist hands a worker more once two of its tests are left, and every worker two modules at
    the start. Most long modules here have one to three tests, so a second long module was
    pinned behind the first on one worker while other workers ran out of work and idled.
    xdist offers no finer extension point than this method of its scheduler; pytest-xdist is
    pinned in requirements-dev.lock and ``tests/test_scheduling.py`` fails if it moves."""

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # A worker runs a test only once it holds the next one (pytest tears a module's
        # fixtures down knowing the next test), so one pending test is the moment to hand
        # over the next module.
        if self._pending_of(self.assigned_work[node]) <= 1:
            self._assign_work_unit(node)
