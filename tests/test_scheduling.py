"""The parallel suite's scheduler (``tests/scheduling.py``) on a made-up collection: a worker
gets one module at a time, the next one only as it starts the last test of the one it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from scheduling import ModuleWhenDone


@dataclass(eq=False)
class Worker:
    """What the scheduler sees of an xdist worker: the test indices it was sent."""

    name: str
    sent: list[int] = field(default_factory=list)
    shutting_down: bool = False

    @property
    def gateway(self) -> SimpleNamespace:
        return SimpleNamespace(id=self.name)

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


COLLECTION = [
    "tests/test_long.py::test_a",
    "tests/test_long.py::test_b",
    "tests/test_second.py::test_a",
    "tests/test_second.py::test_b",
    "tests/test_second.py::test_c",
    "tests/test_third.py::test_a",
    "tests/test_fourth.py::test_a",
]


def scheduler_with(workers: list[Worker]) -> ModuleWhenDone:
    config = SimpleNamespace(
        getvalue=lambda name: [f"{len(workers)}*popen"] if name == "tx" else None,
        option=SimpleNamespace(loadscopereorder=False),
    )
    scheduler = ModuleWhenDone(config)  # type: ignore[arg-type]
    for worker in workers:
        scheduler.add_node(worker)  # type: ignore[arg-type]
        scheduler.add_node_collection(worker, COLLECTION)  # type: ignore[arg-type]
    scheduler.schedule()
    return scheduler


def test_each_worker_starts_with_one_module_and_gets_the_next_at_its_last_test() -> None:
    one, two = Worker("gw0"), Worker("gw1")
    scheduler = scheduler_with([one, two])
    # xdist's own loadfile scheduler gives gw0, whose module has two tests, a second module
    # at once, pinned behind the first.
    assert (one.sent, two.sent) == ([0, 1], [2, 3, 4])
    scheduler.mark_test_complete(two, 2)  # test_second::test_a done, two tests left
    assert two.sent == [2, 3, 4]
    scheduler.mark_test_complete(one, 0)  # gw0 starts its module's last test
    assert one.sent == [0, 1, 5]
    scheduler.mark_test_complete(two, 3)
    assert two.sent == [2, 3, 4, 6]
    assert not scheduler.workqueue
    scheduler.mark_test_complete(one, 1)
    assert one.shutting_down and not two.shutting_down
    scheduler.mark_test_complete(one, 5)
    for index in (4, 6):
        scheduler.mark_test_complete(two, index)
    assert two.shutting_down and scheduler.tests_finished


def test_a_worker_whose_module_has_one_test_gets_a_second_module_at_once() -> None:
    # A worker holding a single test cannot run it before it knows the next one.
    workers = [Worker(f"gw{n}") for n in range(3)]
    scheduler_with(workers)
    assert [w.sent for w in workers] == [[0, 1], [2, 3, 4], [5, 6]]
