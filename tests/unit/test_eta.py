"""The predictor and the planner: estimates, step grids, schedule checks and the poll/lag targets."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from ims_provider.eta import EtaEstimator, PollSchedule
from ims_provider.jobs import JOB_DONE
from ims_provider.waiter import FakeClock, PollEvent, wait
from tests.unit.synthetic_jobs import DURATIONS_MIN, FIXED_5S, OURS, TERRAFORM, WITH_PROGRESS, measure, p95


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


def test_a_curve_that_predicted_the_last_poll_is_trusted_and_its_window_is_narrow() -> None:
    """An ease-out job: the curve fitted to the first samples predicts the next one, so the end 600 s ahead
    is trusted to within a few seconds."""
    est = anchored()
    for t in (20.0, 40.0, 90.0, 200.0, 400.0):
        est.observe(t, round(1 - (1 - t / 1000) ** 3, 4))
    assert est.trusted(0.02)
    bounds = est.eta_bounds(spread=0.005, trusted=0.02)
    assert bounds is not None and bounds[0] <= 1000.0 <= bounds[1] and bounds[1] - bounds[0] < 10.0


def test_a_curve_that_missed_the_last_poll_is_not_trusted_past_the_current_rate() -> None:
    """sqrt progress is no power law: the curve misses each new sample, so the window reaches back to where
    the rate between the last two samples ends (earlier than the truth for a job that slows down)."""
    est = anchored()
    samples = [(t, round(math.sqrt(t / 1000), 4)) for t in (20.0, 60.0, 150.0, 300.0, 500.0, 700.0)]
    for t, f in samples:
        est.observe(t, f)
    assert not est.trusted(0.02)
    (t1, f1), (t2, f2) = samples[-2:]
    current = t2 + (1 - f2) * (t2 - t1) / (f2 - f1)
    bounds = est.eta_bounds(trusted=0.02)
    assert bounds is not None and bounds[0] <= current < 1000.0 <= bounds[1]
    untrusting = est.eta_bounds()  # without ``trusted`` only the curve's own window
    assert untrusting is not None and untrusting[0] > bounds[0]


def test_a_fraction_held_at_099_is_never_fitted() -> None:
    """Seeing 0.99 for the first time says "nearly done", not where on its curve the job is: the end stays."""
    est = anchored()
    for t in (50.0, 150.0, 300.0, 420.0):
        est.observe(t, round(1 - (1 - t / 1000) ** 3, 4))
    before = est.eta()
    est.observe(820.0, 0.99)
    assert est.eta() == before
    bounds = est.eta_bounds(spread=0.005, trusted=0.02)
    assert bounds is not None and bounds[0] <= 1000.0 <= bounds[1]


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


@pytest.mark.parametrize("minutes", [m for m in DURATIONS_MIN if m >= 7])
@pytest.mark.parametrize("profile", ["linear", "front_loaded"])
def test_the_emulators_curves_long_jobs_use_at_most_a_quarter_of_terraforms_polls(
    profile: str, minutes: int
) -> None:
    """Every job, not just on average: the same job (seed) polled both ways."""
    ours, terraform = measure(OURS, minutes, profile)[1], measure(TERRAFORM, minutes, profile)[1]
    assert all(o <= t * 0.25 for o, t in zip(ours, terraform, strict=True)), (ours, terraform)


@pytest.mark.parametrize("profile", ["linear", "front_loaded"])
def test_the_emulators_curves_one_minute_jobs_take_no_more_polls_than_terraform(profile: str) -> None:
    ours, terraform = measure(OURS, 1, profile)[1], measure(TERRAFORM, 1, profile)[1]
    assert all(o <= t for o, t in zip(ours, terraform, strict=True)), (ours, terraform)
    assert statistics.median(measure(OURS, 1, profile)[0]) <= 1.0


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
