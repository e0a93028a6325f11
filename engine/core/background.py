"""A long job on a worker thread whose progress a UI can poll (issue 22: the first model load).

A Streamlit script that blocks inside one call cannot update its progress bar, and a click
anywhere interrupts it; the work itself must not be lost when that happens. `BackgroundJob`
runs a function on a daemon thread and keeps its latest progress (fraction, message), its
result or its exception. The UI polls it (`components.state.get_runner`); a rerun that
interrupted the polling finds the same job, still running, and polls again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from engine.core.progress import ProgressFn

T = TypeVar("T")


class BackgroundJob(Generic[T]):
    """`work(progress)` on a daemon thread, started at construction.

    Attributes:
        name: what the job does, for messages.
        started: `time.perf_counter()` when the thread started.
    """

    def __init__(self, name: str, work: Callable[[ProgressFn], T]) -> None:
        self.name = name
        self._work = work
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._message = ""
        self._result: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self.started = time.perf_counter()
        self._finished: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"job: {name}", daemon=True)
        self._thread.start()

    def _progress(self, fraction: float, message: str) -> None:
        with self._lock:
            self._fraction = min(max(float(fraction), 0.0), 1.0)
            self._message = message

    def _run(self) -> None:
        try:
            result = self._work(self._progress)
            with self._lock:
                self._result = result
        except BaseException as exc:  # kept, and re-raised in the thread that asks for the result
            with self._lock:
                self._error = exc
        finally:
            with self._lock:
                self._finished = time.perf_counter()
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits up to `timeout` seconds; True when the job has ended."""
        return self._done.wait(timeout)

    def status(self) -> tuple[float, str]:
        """The latest (fraction, message) the work reported."""
        with self._lock:
            return self._fraction, self._message

    def elapsed(self) -> float:
        """Seconds since the start (until the end, once the job has ended)."""
        with self._lock:
            end = self._finished if self._finished is not None else time.perf_counter()
        return end - self.started

    @property
    def error(self) -> BaseException | None:
        with self._lock:
            return self._error

    def result(self) -> T:
        """The work's return value; re-raises its exception. Call only when `done`."""
        if not self.done:
            raise RuntimeError(f"{self.name} is still running")
        with self._lock:
            if self._error is not None:
                raise self._error
            return self._result  # type: ignore[return-value]
