"""engine.core.background.BackgroundJob: a long job on a thread that a page polls (the model load)."""

from __future__ import annotations

import threading

import pytest

from engine.core.background import BackgroundJob


def test_result_and_progress_of_a_finished_job() -> None:
    gate = threading.Event()

    def work(progress):  # type: ignore[no-untyped-def]
        progress(0.25, "step one")
        gate.wait(30)
        progress(2.0, "step two")  # clipped to [0, 1]
        return 42

    job = BackgroundJob("test", work)
    for _ in range(300):  # the first step is reported while the job waits
        if job.status() == (0.25, "step one"):
            break
        job.wait(0.01)
    assert job.status() == (0.25, "step one")
    assert not job.done
    with pytest.raises(RuntimeError, match="still running"):
        job.result()
    gate.set()
    assert job.wait(30)
    assert job.result() == 42
    assert job.status() == (1.0, "step two")
    end = job.elapsed()
    assert end >= 0 and job.elapsed() == end  # the clock stops when the job ends


def test_the_jobs_exception_is_raised_where_the_result_is_asked() -> None:
    def work(progress):  # type: ignore[no-untyped-def]
        raise ValueError("no weights")

    job = BackgroundJob("test", work)
    assert job.wait(30)
    assert isinstance(job.error, ValueError)
    with pytest.raises(ValueError, match="no weights"):
        job.result()
