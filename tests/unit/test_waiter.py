"""The generic waiter: deadlines, transient errors, observers, and invariants for any job (virtual time)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ims_provider.errors import WaitTimeoutError
from ims_provider.jobs import JOB_DONE, TERRAFORM_SCHEDULE
from ims_provider.waiter import FakeClock, Outcome, PollEvent, Progress, wait
from tests.unit.synthetic_jobs import PROFILES, synthetic_job


def test_returns_the_success_body() -> None:
    clock = FakeClock()
    body = wait(JOB_DONE, synthetic_job(clock, 120, PROFILES["linear"]), timeout=600, clock=clock)
    assert body["status"] == "SUCCESS"
    assert body["entities"]["image_id"] == "3f71"


def test_returns_the_failure_body_for_the_caller_to_raise() -> None:
    clock = FakeClock()
    body = wait(JOB_DONE, synthetic_job(clock, 120, PROFILES["linear"], fail=True), timeout=600, clock=clock)
    assert body["status"] == "FAIL"
    assert body["fail_reason"] == "boom"


def test_timeout_raises_with_elapsed_and_last_body_and_never_sleeps_past_the_deadline() -> None:
    clock = FakeClock(50.0)
    polled_at: list[float] = []
    job = synthetic_job(clock, 3600, PROFILES["linear"])

    def fetch() -> dict[str, Any]:
        polled_at.append(clock.now)
        return job()

    with pytest.raises(WaitTimeoutError) as info:
        wait(JOB_DONE, fetch, timeout=300, clock=clock, what="IMS job j-1")
    err = info.value
    assert err.elapsed == pytest.approx(300)
    assert err.what == "IMS job j-1"
    assert err.last["status"] == "RUNNING"
    assert "timed out after 300s waiting for IMS job j-1" in str(err)
    assert "RUNNING 6%" in str(err) and "(CreateImageTask)" in str(err)
    assert sum(clock.sleeps) == pytest.approx(300)
    assert polled_at[-1] == pytest.approx(350.0)  # the last poll is at the deadline, not before or after
    assert all(t <= 350.0 + 1e-9 for t in polled_at)


def test_zero_timeout_polls_once_immediately() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeoutError) as info:
        wait(JOB_DONE, synthetic_job(clock, 60, None), timeout=0, clock=clock)
    assert clock.sleeps == []
    assert info.value.elapsed == 0


def test_a_slow_fetch_past_the_deadline_ends_the_wait_without_another_sleep() -> None:
    clock = FakeClock()
    job = synthetic_job(clock, 3600, None)

    def slow_fetch() -> dict[str, Any]:
        clock.advance(25.0)
        return job()

    with pytest.raises(WaitTimeoutError) as info:
        wait(JOB_DONE, slow_fetch, timeout=30, clock=clock)
    assert clock.sleeps == [10.0]
    assert info.value.elapsed == pytest.approx(35.0)


class FlakyError(Exception):
    pass


def test_transient_errors_are_swallowed_until_the_deadline_then_reported() -> None:
    clock = FakeClock()
    calls = 0

    def fetch() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"status": "RUNNING", "entities": {"process_percent": 0.1}}
        raise FlakyError(f"HTTP 503 number {calls}")

    spec = JOB_DONE.with_transient(lambda exc: isinstance(exc, FlakyError))
    with pytest.raises(WaitTimeoutError) as info:
        wait(spec, fetch, timeout=120, clock=clock)
    err = info.value
    assert isinstance(err.__cause__, FlakyError)
    assert f"last error: FlakyError: HTTP 503 number {calls}" in str(err)
    assert err.last == {"status": "RUNNING", "entities": {"process_percent": 0.1}}
    assert sum(clock.sleeps) == pytest.approx(120)
    assert calls > 3


def test_transient_errors_then_success() -> None:
    clock = FakeClock()
    answers: list[Any] = [
        FlakyError("reset"),
        FlakyError("reset"),
        {"status": "RUNNING"},
        {"status": "SUCCESS"},
    ]

    def fetch() -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    events: list[PollEvent[dict[str, Any]]] = []
    body = wait(
        JOB_DONE,
        fetch,
        timeout=600,
        clock=clock,
        observer=events.append,
        transient=lambda e: isinstance(e, FlakyError),
    )
    assert body == {"status": "SUCCESS"}
    assert [e.attempt for e in events] == [1, 2, 3, 4]
    assert [type(e.error) for e in events] == [FlakyError, FlakyError, type(None), type(None)]
    assert events[0].value is None and events[0].outcome is Outcome.PENDING
    assert events[-1].outcome is Outcome.SUCCESS and events[-1].next_delay is None
    assert all(e.next_delay is not None and e.next_delay > 0 for e in events[:-1])
    assert [e.elapsed for e in events] == sorted(e.elapsed for e in events)


def test_non_transient_errors_propagate_at_once() -> None:
    clock = FakeClock()

    def fetch() -> dict[str, Any]:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait(JOB_DONE.with_transient(lambda e: isinstance(e, FlakyError)), fetch, timeout=600, clock=clock)
    assert clock.sleeps == [10.0]


def test_spec_helpers_leave_the_original_alone() -> None:
    spec = JOB_DONE.with_transient(lambda e: True)
    assert spec.is_transient(ValueError()) is True
    assert JOB_DONE.is_transient(ValueError()) is False
    assert JOB_DONE.with_schedule(TERRAFORM_SCHEDULE).schedule is TERRAFORM_SCHEDULE
    assert dataclasses.replace(JOB_DONE, name="x").name == "x" and JOB_DONE.name == "IMS job"


def test_missing_status_is_pending_but_counted_in_the_timeout_message() -> None:
    clock = FakeClock()
    answers = iter([{"status": "RUNNING"}, {}, {"status": ""}] + [{"status": "RUNNING"}] * 100)
    with pytest.raises(WaitTimeoutError) as info:
        wait(JOB_DONE, lambda: next(answers), timeout=60, clock=clock)
    assert "6 polls; last seen: RUNNING; the job had no status in 2 of 6 polls" in str(info.value)


def test_observer_sees_progress_and_a_prediction() -> None:
    clock = FakeClock()
    events: list[PollEvent[dict[str, Any]]] = []
    wait(
        JOB_DONE,
        synthetic_job(clock, 600, PROFILES["linear"]),
        timeout=900,
        clock=clock,
        observer=events.append,
    )
    running = [e for e in events if e.progress is not None and e.progress.fraction is not None]
    assert events[0].progress == Progress(None, None, "INIT", "imsCreateImageByInstance")
    assert running
    first = running[0].progress
    share = (running[0].elapsed - 0.02 * 600) / (0.98 * 600)
    assert first is not None and first.fraction == pytest.approx(share, abs=1e-4)
    assert (first.phase, first.state, first.subject) == (
        "CreateImageTask",
        "RUNNING",
        "imsCreateImageByInstance",
    )
    assert running[-1].eta == pytest.approx(600, abs=1)


@settings(max_examples=60, deadline=None)
@given(
    duration=st.floats(min_value=5, max_value=7200),
    profile=st.sampled_from(sorted(PROFILES)),
    age=st.floats(min_value=0, max_value=5),
    timeout=st.floats(min_value=1, max_value=9000),
)
def test_invariants_hold_for_any_job(duration: float, profile: str, age: float, timeout: float) -> None:
    clock = FakeClock()
    start = clock.now
    fetch = synthetic_job(clock, duration, PROFILES[profile], age_at_start=min(age, duration / 2))
    try:
        body = wait(JOB_DONE, fetch, timeout=timeout, clock=clock)
    except WaitTimeoutError as err:
        assert err.elapsed == pytest.approx(timeout)
    else:
        assert body["status"] == "SUCCESS"
        true_end = duration - min(age, duration / 2)
        assert clock.now - start >= true_end - 1e-6
        assert clock.now - start - true_end <= JOB_DONE.schedule.max_interval + 1e-6
    assert clock.now - start <= timeout + 1e-6
    assert all(s >= 0 for s in clock.sleeps)
