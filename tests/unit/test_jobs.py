"""The generic waiter, its IMS specs, and the predictive poll schedule (virtual time only).

Synthetic jobs follow the emulator's model: INIT for the first 2% of the duration, then RUNNING with
``process_percent`` given by a profile of the running share (rounded to 4 decimals and held at 0.99 at most
until the end), then SUCCESS. The job was submitted a little before the wait starts and its length varies
around the nominal duration, so poll grids meet it at random phases. Detection lag = time of the first
poll that sees SUCCESS minus the true end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import random
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ims_provider.errors import WaitTimeoutError
from ims_provider.jobs import (
    FIXED_5S_SCHEDULE,
    IMAGE_ACTIVE,
    IMAGE_GONE,
    JOB_DONE,
    TERRAFORM_SCHEDULE,
    EtaEstimator,
    FakeClock,
    Outcome,
    PollEvent,
    PollSchedule,
    Progress,
    WaitSpec,
    job_progress,
    normalize_fraction,
    wait,
)

Profile = Callable[[float], float] | None

PROFILES: dict[str, Profile] = {
    "linear": lambda x: x,
    "front_loaded": lambda x: 1 - (1 - x) ** 3,  # the emulator's ease-out
    "front_loaded_sqrt": math.sqrt,
    "stepped": lambda x: math.floor(4 * x) / 4,
    "absent": None,
}
WITH_PROGRESS = ("linear", "front_loaded", "front_loaded_sqrt", "stepped")
DURATIONS_MIN = (1, 3, 7, 15, 30)
SEEDS = range(12)
INIT_SHARE = 0.02
RUNNING_CAP = 0.99


def synthetic_job(
    clock: FakeClock,
    duration: float,
    profile: Profile,
    *,
    age_at_start: float = 0.0,
    fail: bool = False,
) -> Callable[[], dict[str, Any]]:
    """``fetch`` for a job that ends ``duration - age_at_start`` seconds after the clock's current time."""
    t0 = clock.now - age_at_start

    def fetch() -> dict[str, Any]:
        age = clock.now - t0
        base: dict[str, Any] = {"job_id": "j-1", "job_type": "imsCreateImageByInstance"}
        if age >= duration:
            if fail:
                return {
                    **base,
                    "status": "FAIL",
                    "error_code": "IMG.0999",
                    "fail_reason": "boom",
                    "entities": {},
                }
            return {**base, "status": "SUCCESS", "entities": {"image_id": "3f71", "process_percent": 1.0}}
        if age < INIT_SHARE * duration:
            return {**base, "status": "INIT", "entities": {}}
        entities: dict[str, Any] = {"current_task": "CreateImageTask"}
        if profile is not None:
            running = (age - INIT_SHARE * duration) / ((1 - INIT_SHARE) * duration)
            entities["process_percent"] = round(min(profile(running), RUNNING_CAP), 4)
        return {**base, "status": "RUNNING", "entities": entities}

    return fetch


def run_job(spec: WaitSpec[dict[str, Any]], duration: float, profile: str, seed: int) -> tuple[float, int]:
    """(detection lag, polls) of one synthetic job with a random start phase."""
    rng = random.Random(seed)
    age_at_start = rng.uniform(0.0, 3.0)
    length = duration * rng.uniform(0.9, 1.1)
    clock = FakeClock(1000.0)
    start = clock.now
    fetch = synthetic_job(clock, length, PROFILES[profile], age_at_start=age_at_start)
    events: list[PollEvent[dict[str, Any]]] = []
    body = wait(spec, fetch, timeout=4 * 3600, clock=clock, observer=events.append)
    assert body["status"] == "SUCCESS"
    return clock.now - start - (length - age_at_start), len(events)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


OURS = JOB_DONE
TERRAFORM = JOB_DONE.with_schedule(TERRAFORM_SCHEDULE)
FIXED_5S = JOB_DONE.with_schedule(FIXED_5S_SCHEDULE)


# --- the loop ---------------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_interval": 0}, "min_interval"),
        ({"min_interval": 10, "max_interval": 5}, "exceed"),
        ({"approach": 1.0}, "approach"),
        ({"fallback_factor": 0.5}, "factors"),
        ({"initial_delay": -1}, "initial_delay"),
        ({"window": 0}, "window"),
        ({"stall_polls": -1}, "stall_polls"),
    ],
)
def test_poll_schedule_rejects_nonsense(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PollSchedule(**kwargs)


# --- specs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"status": "SUCCESS"}, Outcome.SUCCESS),
        ({"status": "FAIL"}, Outcome.FAILURE),
        ({"status": "INIT"}, Outcome.PENDING),
        ({"status": "RUNNING"}, Outcome.PENDING),
        ({"status": "SOMETHING_NEW"}, Outcome.PENDING),
        ({"status": ""}, Outcome.PENDING),
        ({}, Outcome.PENDING),
        ({"status": None}, Outcome.PENDING),
    ],
)
def test_job_classification(body: dict[str, Any], outcome: Outcome) -> None:
    assert JOB_DONE.classify(body) is outcome


@pytest.mark.parametrize(
    ("raw", "fraction"),
    [(0.24, 0.24), (24, 0.24), (100, 1.0), (1, 1.0), (0, 0.0), ("0.5", 0.5), ("42%", 0.42), (-3, 0.0)],
)
def test_normalize_fraction(raw: object, fraction: float) -> None:
    assert normalize_fraction(raw) == pytest.approx(fraction)


@pytest.mark.parametrize("raw", [None, True, "soon", math.nan, math.inf, [0.5]])
def test_normalize_fraction_ignores_non_numbers(raw: object) -> None:
    assert normalize_fraction(raw) is None


def test_job_progress_prefers_the_top_level_percent() -> None:
    body = {
        "status": "RUNNING",
        "job_type": "imsCreateImageByInstance",
        "entities": {"process_percent": 42, "current_task": "CreateImageTask", "sub_jobs_result": []},
    }
    assert job_progress(body) == Progress(0.42, "CreateImageTask", "RUNNING", "imsCreateImageByInstance")


def test_job_progress_averages_sub_jobs_when_the_top_level_has_none() -> None:
    subs = [
        {"status": "SUCCESS", "entities": {}},
        {"status": "RUNNING", "entities": {"process_percent": 0.5}},
        {"status": "INIT", "entities": {}},
        {"status": "RUNNING", "entities": {}},  # unknown: counts as no progress yet
    ]
    body = {"status": "RUNNING", "entities": {"sub_jobs_result": subs}}
    assert job_progress(body).fraction == pytest.approx((1.0 + 0.5 + 0.0) / 4)


def test_job_progress_without_any_percent() -> None:
    assert job_progress({"status": "INIT"}) == Progress(None, None, "INIT", None)
    assert job_progress({"status": "RUNNING", "entities": "junk"}).fraction is None


@pytest.mark.parametrize(
    ("image", "outcome"),
    [
        ({"id": "i", "status": "active"}, Outcome.SUCCESS),
        ({"id": "i", "status": "queued"}, Outcome.PENDING),
        ({"id": "i", "status": "saving"}, Outcome.PENDING),
        ({"id": "i", "status": "killed"}, Outcome.FAILURE),
        ({"id": "i", "status": "deleted"}, Outcome.FAILURE),
        (None, Outcome.FAILURE),
    ],
)
def test_image_active_classification(image: dict[str, Any] | None, outcome: Outcome) -> None:
    assert IMAGE_ACTIVE.classify(image) is outcome


@pytest.mark.parametrize(
    ("image", "outcome"),
    [
        (None, Outcome.SUCCESS),
        ({"id": "i", "status": "deleted"}, Outcome.SUCCESS),
        ({"id": "i", "status": "active"}, Outcome.PENDING),
        ({"id": "i", "status": "killed"}, Outcome.PENDING),
    ],
)
def test_image_gone_classification(image: dict[str, Any] | None, outcome: Outcome) -> None:
    assert IMAGE_GONE.classify(image) is outcome


def poll_times(
    spec: WaitSpec[Any], fetch: Callable[[], Any], clock: FakeClock, timeout: float
) -> list[float]:
    times: list[float] = []
    start = clock.now

    def observed() -> Any:
        times.append(round(clock.now - start, 6))
        return fetch()

    with contextlib.suppress(WaitTimeoutError):
        wait(spec, observed, timeout=timeout, clock=clock)
    return times


def test_image_active_polls_at_once_then_backs_off_to_5s() -> None:
    clock = FakeClock()
    times = poll_times(IMAGE_ACTIVE, lambda: {"id": "i", "status": "saving"}, clock, 30)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == 0
    assert gaps[:4] == pytest.approx([1.0, 1.5, 2.25, 3.375])
    assert max(gaps) == pytest.approx(5.0)


def test_image_gone_polls_after_1s_then_every_2_5s() -> None:
    clock = FakeClock()
    times = poll_times(IMAGE_GONE, lambda: {"id": "i", "status": "active"}, clock, 11)
    assert times == pytest.approx([1.0, 3.5, 6.0, 8.5, 11.0])


def test_terraform_and_fixed_schedules_ignore_progress() -> None:
    for spec, expected in ((TERRAFORM, [10.0, 20.0, 30.0, 40.0]), (FIXED_5S, [5.0, 10.0, 15.0, 20.0])):
        clock = FakeClock()
        job = synthetic_job(clock, 3600, PROFILES["linear"])
        assert poll_times(spec, job, clock, 40 if spec is TERRAFORM else 20) == expected


# --- the predictor ------------------------------------------------------------------------------------


def anchored(earliest: float = 0.0, latest: float = 0.0) -> EtaEstimator:
    est = EtaEstimator()
    est.anchor(earliest, latest)
    return est


def test_estimator_is_exact_on_a_linear_job() -> None:
    est = anchored()
    assert est.eta() is None
    est.observe(10.0, 0.1)
    first = est.eta_bounds()  # a single jump may have been a step: the end is only known roughly
    assert first is not None and first[0] <= 100.0 <= first[1] and first[1] - first[0] > 50
    est.observe(30.0, 0.3)
    est.observe(45.0, 0.45)
    assert not est.stepped
    assert est.rate() == pytest.approx(0.01)
    assert est.eta() == pytest.approx(100.0)
    est.observe(55.0, 0.55)
    est.observe(62.0, 0.62)  # enough points to fit the curve: still exact
    bounds = est.eta_bounds()
    assert bounds is not None and bounds[0] == pytest.approx(100.0) and bounds[1] == pytest.approx(100.0)


def test_estimator_fits_an_ease_out_job_and_holds_through_a_capped_plateau() -> None:
    """1 - f = (1 - t/1000)**3, shown as at most 0.99: a constant rate would predict 1/3 of the time left."""
    est = anchored()
    for t in (50.0, 150.0, 300.0, 420.0, 520.0, 600.0):
        est.observe(t, round(1 - (1 - t / 1000) ** 3, 4))
    assert est.eta() == pytest.approx(1000.0, abs=5)
    est.observe(800.0, 0.99)  # really 0.992: held at 0.99 from here on
    for t in (850.0, 900.0, 950.0):
        est.observe(t, 0.99)
    assert est.eta() == pytest.approx(1000.0, abs=5)


def test_estimator_never_predicts_an_end_before_the_last_sample() -> None:
    est = anchored()
    est.observe(10.0, 0.5)
    est.observe(20.0, 0.9)
    est.observe(300.0, 0.9)  # stalled long past the predicted end
    eta = est.eta()
    assert eta is not None and eta >= 300.0


def test_estimator_detects_steps_and_widens_its_window() -> None:
    est = anchored()
    est.observe(10.0, 0.0)
    est.observe(30.0, 0.25)
    est.observe(40.0, 0.25)
    assert est.stepped
    bounds = est.eta_bounds()
    assert bounds is not None
    lo, hi = bounds
    assert lo < 100.0 < hi  # the change to 25% happened between 10 s and 30 s
    step = est.next_step_bounds(0.1)
    assert step is not None and step[0] < 40.0 < step[1]


def test_estimator_anchor_only_before_the_first_sample() -> None:
    est = EtaEstimator()
    est.observe(10.0, 0.2)
    est.anchor(0.0, 0.0)  # too late: ignored
    assert est.rate() is None


def test_estimator_starts_over_when_progress_goes_backwards() -> None:
    est = anchored()
    est.observe(10.0, 0.5)
    est.observe(20.0, 0.6)
    assert est.observe(30.0, 0.1)
    assert est.rate() is None
    est.observe(40.0, 0.2)
    assert est.rate() == pytest.approx(0.01, rel=0.5)


def test_estimator_follows_a_front_loaded_job_as_it_slows_down() -> None:
    est = anchored()
    for t in range(15, 900, 30):
        est.observe(float(t), math.sqrt(t / 1000))
    assert not est.stepped
    eta = est.eta()
    assert eta is not None and 980 < eta < 1020  # not the (much higher) average rate, which says 940


def test_step_grid_bounds_the_end_from_equal_steps() -> None:
    """Quarters every 100 s from t=0: each step is known to lie between two polls, the end follows exactly."""
    est = anchored()  # 0 at some moment in [0, 0]
    for t, f in ((40.0, 0.0), (110.0, 0.25), (190.0, 0.25), (205.0, 0.5)):
        est.observe(t, f)
    grid = est.step_grid(0.1)
    assert grid is not None and (grid.steps, grid.level) == (4, 2)
    end = grid.window(4)
    assert end is not None and end[0] <= 400.0 <= end[1]
    # t1 in [40, 110] and t2 in [190, 205] with t0 = 0: s in [95, 102.5], so the end is in [380, 410].
    assert end == pytest.approx((380.0, 410.0))
    step3 = grid.window(3)
    assert step3 == pytest.approx((285.0, 307.5))


def test_step_grid_only_for_equal_coarse_steps() -> None:
    smooth = anchored()
    for t, f in ((10.0, 0.0312), (20.0, 0.0625), (30.0, 0.0938)):
        smooth.observe(t, f)
    assert smooth.step_grid(0.1) is None  # fine-grained: the estimator's curve fit does better
    uneven = anchored()
    uneven.observe(10.0, 0.25)
    uneven.observe(20.0, 0.6)
    assert uneven.step_grid(0.1) is None
    broken = anchored()
    for t, f in ((10.0, 0.25), (20.0, 0.5), (200.0, 0.5)):  # steps every ~10 s, then a stall: no fit
        broken.observe(t, f)
    grid = broken.step_grid(0.1)
    assert grid is None or grid.window(grid.steps) is None


def test_a_stalled_job_backs_off_instead_of_burning_polls() -> None:
    """Progress to 50% in 100 s, then a 20-minute stall: polls past the predicted end slow to 10 s."""
    clock = FakeClock()
    start = clock.now

    def fetch() -> dict[str, Any]:
        age = clock.now - start
        if age > 1300:
            return {"status": "SUCCESS"}
        return {"status": "RUNNING", "entities": {"process_percent": min(age / 200, 0.5)}}

    events: list[PollEvent[dict[str, Any]]] = []
    wait(JOB_DONE, fetch, timeout=3600, clock=clock, observer=events.append)
    late = [e for e in events if e.elapsed > 400]
    assert all(e.next_delay is None or e.next_delay <= 10.0 for e in late)  # lag no worse than Terraform's
    assert len(late) <= (1300 - 400) / 10 + 2  # polls no more than Terraform's
    assert clock.now - start - 1300 <= 10.0


# --- targets ------------------------------------------------------------------------------------------


def measure(spec: WaitSpec[dict[str, Any]], minutes: float, profile: str) -> tuple[list[float], list[int]]:
    runs = [run_job(spec, minutes * 60, profile, seed) for seed in SEEDS]
    return [lag for lag, _ in runs], [polls for _, polls in runs]


@pytest.mark.parametrize("profile", WITH_PROGRESS)
def test_with_progress_detection_lag_is_about_a_second(profile: str) -> None:
    lags = [lag for minutes in DURATIONS_MIN for lag in measure(OURS, minutes, profile)[0]]
    assert min(lags) >= 0
    assert statistics.median(lags) <= 1.0
    assert p95(lags) <= 3.0


@pytest.mark.parametrize("minutes", [m for m in DURATIONS_MIN if m >= 5])
@pytest.mark.parametrize("profile", WITH_PROGRESS)
def test_with_progress_long_jobs_use_at_most_half_of_terraforms_polls(profile: str, minutes: int) -> None:
    ours = statistics.mean(measure(OURS, minutes, profile)[1])
    terraform = statistics.mean(measure(TERRAFORM, minutes, profile)[1])
    assert ours <= terraform * 0.5


def test_stepped_7_min_meets_the_poll_target_by_polling_only_where_a_step_or_the_end_can_be() -> None:
    """Quarter steps: the end window comes from the step grid, so no poll is spent approaching it."""
    lags, polls = measure(OURS, 7, "stepped")
    terraform = statistics.mean(measure(TERRAFORM, 7, "stepped")[1])
    assert statistics.mean(polls) <= terraform * 0.5
    assert statistics.median(lags) <= 1.0 and max(lags) <= OURS.schedule.end_spacing + 1e-6


@pytest.mark.parametrize("minutes", DURATIONS_MIN)
def test_without_progress_we_poll_exactly_like_terraform(minutes: int) -> None:
    ours_lags, ours_polls = measure(OURS, minutes, "absent")
    tf_lags, tf_polls = measure(TERRAFORM, minutes, "absent")
    assert ours_polls == tf_polls
    assert ours_lags == pytest.approx(tf_lags)


def test_our_lag_beats_the_fixed_5s_schedule_with_far_fewer_polls() -> None:
    ours_lags, ours_polls = measure(OURS, 15, "linear")
    five_lags, five_polls = measure(FIXED_5S, 15, "linear")
    assert statistics.median(ours_lags) < statistics.median(five_lags)
    assert sum(ours_polls) * 4 < sum(five_polls)


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
