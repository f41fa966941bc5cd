"""Python's cyclic garbage collector, tuned for a long-running server.

A full collection walks every object of the process: some 145,000 once FastAPI, SQLAlchemy and
pydantic are loaded, 60-230 ms during which the event loop serves nothing (the tail of every
latency figure in docs/benchmarks.md). What start-up made lives as long as the process, so it
is frozen out of the collector's walks; what requests make is still collected.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_startup() -> None:
    """Collect start-up's garbage once, then leave everything alive now out of later
    collections (`gc.freeze`). Called by `provisio serve` and `provisio worker` once started,
    not by the application factory: tests build many applications in one process."""
    gc.collect()
    gc.freeze()


class _Pause:
    """The collector, paused while at least one bulk import runs.

    An import makes and drops millions of container objects (rows, models, events) that
    reference counting frees on its own; the collector still walked the process each time
    enough of them had been made: 1.5-1.9 s of CPU per 100,000 rows, a quarter of the import.
    Whatever cyclic garbage other requests make meanwhile waits for the end of the import; if
    the collector was off before, it stays off.
    """

    def __init__(self) -> None:
        self._holders = 0
        self._resume = False

    @contextmanager
    def held(self) -> Iterator[None]:
        if self._holders == 0:
            self._resume = gc.isenabled()
            gc.disable()
        self._holders += 1
        try:
            yield
        finally:
            self._holders -= 1
            if self._holders == 0 and self._resume:
                gc.enable()


paused = _Pause().held
