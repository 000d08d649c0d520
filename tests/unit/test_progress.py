"""Progress lines: one per phase change, at most every 30 s otherwise, a final line, nothing when quiet."""

from __future__ import annotations

import math
from typing import Any

from ims_provider.jobs import JOB_DONE
from ims_provider.progress import ProgressReporter
from ims_provider.waiter import FakeClock, Outcome, PollEvent, Progress, wait


def event(
    progress: Progress | None,
    *,
    elapsed: float = 0.0,
    outcome: Outcome = Outcome.PENDING,
    error: BaseException | None = None,
    eta: float | None = None,
) -> PollEvent[Any]:
    return PollEvent(
        spec="IMS job",
        attempt=1,
        elapsed=elapsed,
        value=None,
        error=error,
        outcome=outcome,
        progress=progress,
        next_delay=None if outcome is not Outcome.PENDING else 10.0,
        eta=eta,
    )


JOB = "imsCreateImageByInstance"


def reporter(clock: FakeClock, **kwargs: Any) -> tuple[ProgressReporter, list[str]]:
    lines: list[str] = []
    return ProgressReporter("web-golden", write=lines.append, clock=clock, **kwargs), lines


def test_writes_a_line_per_phase_change_and_otherwise_every_30s() -> None:
    clock = FakeClock(500.0)
    rep, lines = reporter(clock)
    clock.sleep(10)
    rep(event(Progress(None, None, "INIT", JOB)))
    clock.sleep(10)
    rep(event(Progress(0.05, "CreateImageTask", "RUNNING", JOB)))  # phase change
    for _ in range(5):  # same phase: one line after 30 s
        clock.sleep(10)
        rep(event(Progress(0.3, "CreateImageTask", "RUNNING", JOB)))
    clock.sleep(180)
    rep(event(Progress(0.42, "CreateImageTask", "RUNNING", JOB)))
    clock.sleep(1)
    rep(event(Progress(0.43, "UploadTask", "RUNNING", JOB)))  # phase change, even 1 s later
    assert lines == [
        "ims: web-golden: imsCreateImageByInstance INIT, 10s elapsed",
        "ims: web-golden: imsCreateImageByInstance 5% (CreateImageTask), 20s elapsed",
        "ims: web-golden: imsCreateImageByInstance 30% (CreateImageTask), 50s elapsed",
        "ims: web-golden: imsCreateImageByInstance 42% (CreateImageTask), 4m10s elapsed",
        "ims: web-golden: imsCreateImageByInstance 43% (UploadTask), 4m11s elapsed",
    ]


def test_final_line_has_the_total_time() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock)
    clock.sleep(7 * 60 + 2)
    rep.finish("image 3f71... active")
    assert lines == ["ims: web-golden: image 3f71... active after 7m02s"]


def test_quiet_mode_writes_nothing() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock, enabled=False)
    rep.note("submitted IMS job j-1")
    rep(event(Progress(0.5, "X", "RUNNING", JOB)))
    rep.finish("image active")
    assert lines == []


def test_note_and_the_end_of_a_wait() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock)
    rep.note("submitted IMS job j-1")
    rep(event(Progress(1.0, None, "SUCCESS", JOB), outcome=Outcome.SUCCESS))  # the caller reports the end
    assert lines == ["ims: web-golden: submitted IMS job j-1"]


def test_transient_errors_are_reported_once_per_streak() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock)
    rep(event(Progress(0.1, None, "RUNNING", JOB)))
    clock.sleep(5)
    rep(event(None, error=ConnectionError("connection reset")))
    clock.sleep(5)
    rep(event(None, error=ConnectionError("connection reset")))
    clock.sleep(5)
    rep(event(Progress(0.12, None, "RUNNING", JOB)))
    assert (
        lines[1]
        == "ims: web-golden: IMS job: poll failed (ConnectionError: connection reset), retrying; 5s elapsed"
    )
    assert lines[2] == "ims: web-golden: imsCreateImageByInstance 12%, 15s elapsed"
    assert len(lines) == 3


def test_shows_what_is_left_when_the_end_is_predicted() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock)
    clock.sleep(190)
    rep(event(Progress(0.42, "CreateImageTask", "RUNNING", JOB), elapsed=190, eta=450))
    assert lines == [
        "ims: web-golden: imsCreateImageByInstance 42% (CreateImageTask), 3m10s elapsed, about 4m20s left"
    ]


def test_percent_is_floored_and_images_show_their_state() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock)
    rep(event(Progress(0.999, None, "RUNNING", JOB)))
    rep(event(Progress(None, None, "saving", "image 3f71")))
    assert lines == [
        "ims: web-golden: imsCreateImageByInstance 99%, 0s elapsed",
        "ims: web-golden: image 3f71 saving, 0s elapsed",
    ]


def test_a_long_job_gives_a_bounded_number_of_lines() -> None:
    clock = FakeClock()
    rep, lines = reporter(clock)
    start = clock.now

    def fetch() -> dict[str, Any]:
        age = clock.now - start
        if age >= 1800:
            return {"status": "SUCCESS", "job_type": JOB}
        task = "CreateImageTask" if age < 900 else "UploadTask"
        return {
            "status": "RUNNING",
            "job_type": JOB,
            "entities": {"process_percent": age / 1800, "current_task": task},
        }

    wait(JOB_DONE, fetch, timeout=3600, clock=clock, observer=rep)
    rep.finish("image 3f71 active")
    assert 5 <= len(lines) <= math.ceil(1800 / 30) + 3
    assert lines[-1] in {f"ims: web-golden: image 3f71 active after 30m0{s}s" for s in (0, 1)}
    assert all(line.startswith("ims: web-golden: ") for line in lines)
