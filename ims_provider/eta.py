"""Predicting when a job ends from the progress it reports, and planning the next poll from that.

IMS image jobs run from minutes to an hour and report a progress fraction, so polling on a fixed grid either
wastes polls or notices the end late. :class:`EtaEstimator` predicts the end from the recent progress, and
trusts the prediction as far as the same fit predicted the latest poll, so polls leap towards an end that is
well known and close in on one that is not. Jobs that report progress in equal steps (IMS quarters) get hard
windows from :class:`StepGrid` instead: no poll is spent before a step or the end can possibly come.
:class:`PollSchedule` holds the knobs and :class:`Planner` turns what the polls saw into the next delay;
:func:`ims_provider.waiter.wait` asks it after every poll. Jobs that report no progress fall back to a plain
schedule no busier than Terraform's (first poll after 10 s, then every 10 s).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PREDICTIVE_SCHEDULE", "EtaEstimator", "Planner", "PollSchedule", "StepGrid"]

_GRID_TOLERANCE = 5e-4  # reported fractions are rounded to 4 decimals: 1/3 arrives as 0.3333
_GRID_FAR = 1e7  # seconds: a step interval longer than this means "unbounded"
_PIN_POLLS = (1, 2, 3, 4, 6, 8)  # how many polls the planner considers spending on one step's window
# IMS (and the emulator) hold the fraction at 0.99 until the job ends: a value this high says "nearly done",
# not where on its curve the job is, so it is never fitted.
_HELD_AT = 0.99


@dataclass(frozen=True)
class PollSchedule:
    """The knobs of the predictive poller (seconds unless noted).

    * No progress reported: after ``initial_delay``, delays ``fallback_start * fallback_factor**n`` capped at
      ``fallback_cap``. The job defaults make this exactly Terraform's schedule (10 s, then every 10 s).
    * Progress reported but still 0: the job is long; delays grow as ``idle_growth`` x elapsed, between
      ``fallback_start`` and ``idle_cap``.
    * Progress moving: :class:`EtaEstimator` gives a window in which the end is expected. Before it, the delay
      is ``approach`` x (time to the window), so polls get denser as the end nears; inside it, the window is
      covered by ``end_zone_polls`` polls, and a window narrower than ``end_spacing`` by one poll at its
      close (+ ``end_margin``). A fitted end is exact where the curve was sampled, not where it is
      extrapolated to (IMS holds 0.99 for the last fifth of an ease-out job), so it is widened by a share of
      the time since the fraction last moved: ``miss_factor`` x how far the curve fitted without the newest
      sample missed that sample, per second it looked ahead, at least ``fit_spread``, or
      ``unchecked_spread`` before any such check. A curve that missed by more than ``trusted_miss`` (it does
      not describe the job) is approached more warily, with ``wary_approach``, and never past the end the
      current rate gives. Delays stay within [min_interval, max_interval] and never exceed ``growth`` x
      elapsed (early predictions rest on little data).
    * Stepped progress (steps of at least ``step_coarse``, or the last three steps of any size): the poller
      also looks at the window of the next step with ``step_zone_polls`` polls, because the end can only be
      predicted as precisely as the last steps are known.
    * Equal steps (a fraction that only takes values ``k / n`` for steps of at least ``step_coarse``): the
      steps fit a line in time, so :class:`StepGrid` bounds each later step and the end exactly (observed
      intervals widened by ``step_slack``). Nothing is polled before the end window opens; inside it polls
      come every ``end_spacing`` (the worst lag). Whether covering an intermediate step's window with a few
      polls pays for itself by narrowing the end window is decided ``grid_lookahead`` steps ahead. When the
      steps stop fitting (unequal, stalled), the estimator above takes over.
    * Stall guard: after ``stall_polls`` polls past the predicted end without any progress change, the
      delay grows from min_interval by ``stall_factor`` per poll up to ``stall_cap``, so a wrong prediction
      cannot burn polls at min_interval, and detection is never slower than every ``stall_cap``.

    ``window`` is the part of the elapsed time over which the recent progress is fitted. ``anchored`` says
    the work was submitted just before the wait (up to ``start_slack`` earlier), so progress was 0 between
    then, or the last poll that reported no fraction (IMS INIT), and the first poll that reported one; set
    it to False when resuming a wait on a job submitted long before. ``predictive=False`` ignores progress
    entirely (the Terraform and fixed-interval baselines).
    """

    initial_delay: float = 10.0
    min_interval: float = 1.0
    max_interval: float = 300.0
    approach: float = 0.8
    wary_approach: float = 0.5
    fallback_start: float = 10.0
    fallback_factor: float = 1.0
    fallback_cap: float = 10.0
    stall_polls: int = 3
    stall_factor: float = 1.5
    stall_cap: float = 10.0
    window: float = 0.25
    growth: float = 2.0
    idle_growth: float = 0.75
    idle_cap: float = 45.0
    step_coarse: float = 0.1
    step_zone_polls: int = 4
    end_zone_polls: int = 15
    end_spacing: float = 1.5
    end_margin: float = 0.3
    step_slack: float = 0.25
    fit_spread: float = 0.005
    miss_factor: float = 1.0
    unchecked_spread: float = 0.1
    trusted_miss: float = 0.02
    grid_lookahead: int = 2
    predictive: bool = True
    anchored: bool = True
    start_slack: float = 3.0

    def __post_init__(self) -> None:
        for name in (
            "min_interval",
            "max_interval",
            "fallback_start",
            "fallback_cap",
            "stall_cap",
            "end_spacing",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"PollSchedule.{name} must be positive")
        if self.initial_delay < 0:
            raise ValueError("PollSchedule.initial_delay must not be negative")
        if self.min_interval > self.max_interval:
            raise ValueError("PollSchedule.min_interval must not exceed max_interval")
        if not (0 < self.approach < 1 and 0 < self.wary_approach < 1):
            raise ValueError("PollSchedule.approach and wary_approach must be between 0 and 1")
        if self.fallback_factor < 1 or self.stall_factor < 1:
            raise ValueError("PollSchedule backoff factors must be at least 1")
        for name in (
            "step_slack",
            "fit_spread",
            "miss_factor",
            "unchecked_spread",
            "trusted_miss",
            "end_margin",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"PollSchedule.{name} must not be negative")
        if self.grid_lookahead < 0:
            raise ValueError("PollSchedule.grid_lookahead must not be negative")
        if self.stall_polls < 0:
            raise ValueError("PollSchedule.stall_polls must not be negative")
        if not 0 < self.window <= 1:
            raise ValueError("PollSchedule.window must be in (0, 1]")


# Ours, and every WaitSpec's default. Without progress it is exactly Terraform's schedule (no more polls,
# same lag); with progress it predicts the end.
PREDICTIVE_SCHEDULE = PollSchedule()


class Planner:
    """Turns what the polls saw into the next delay, following a PollSchedule."""

    def __init__(self, schedule: PollSchedule, start: float) -> None:
        self.schedule = schedule
        self.start = start
        self.estimator = EtaEstimator(window=schedule.window)
        self._unreported_at = start - schedule.start_slack  # the last moment known to be before any progress
        self._reported = False
        self._fallback_delay = schedule.fallback_start
        self._overdue = 0
        self._step_misses = 0
        self._errors = 0
        self._grid_end: tuple[float, float] | None = None

    def after_value(self, now: float, fraction: float | None, *, has_progress: bool) -> float:
        """The delay after a poll that answered. ``has_progress`` says the answer reports progress at all,
        even without a fraction yet (IMS INIT): the job has then not started to count."""
        self._errors = 0
        return self._plan(now, fraction, has_progress=has_progress)

    def after_error(self, now: float) -> float:
        """The delay after a poll that failed transiently: the plan, but backing off with each error."""
        self._errors += 1
        backoff = min(self.schedule.max_interval, self.schedule.min_interval * 2.0 ** (self._errors - 1))
        return max(self._plan(now, None, has_progress=False), backoff)

    def eta_since_start(self) -> float | None:
        if self._grid_end is not None:
            return (self._grid_end[0] + self._grid_end[1]) / 2 - self.start
        eta = self.estimator.eta() if self.schedule.predictive else None
        return None if eta is None else eta - self.start

    def _fallback(self) -> float:
        delay = self._fallback_delay
        s = self.schedule
        self._fallback_delay = min(self._fallback_delay * s.fallback_factor, s.fallback_cap)
        return delay

    def _plan(self, now: float, fraction: float | None, *, has_progress: bool) -> float:
        s = self.schedule
        if not s.predictive:
            return self._fallback()
        if has_progress and fraction is None and not self._reported:
            self._unreported_at = now  # e.g. IMS INIT: the job has not started to count yet
        if fraction is not None and not self._reported:
            self._reported = True
            if s.anchored:
                self.estimator.anchor(self._unreported_at, now)
        if fraction is not None and self.estimator.observe(now, fraction):
            self._overdue = 0
            self._step_misses = 0
        if s.step_coarse < 1 and self._reported:
            delay = self._grid_delay(now)
            if delay is not None:
                return delay
        end = self.estimator.eta_bounds(
            spread=s.fit_spread,
            miss_factor=s.miss_factor,
            unchecked=s.unchecked_spread,
            trusted=s.trusted_miss,
        )
        if end is None:
            if fraction is None:
                return self._fallback()
            if fraction > 0:
                # One sample of real progress: too little to predict from, so look again soon.
                return min(max(s.growth * (now - self.start), s.min_interval), s.fallback_start)
            # Progress is reported but has not moved yet: the job is long, so back off with its age.
            return min(max(s.idle_growth * (now - self.start), s.fallback_start), s.idle_cap)
        approach = s.approach if self.estimator.trusted(s.trusted_miss) else s.wary_approach
        targets = [(end, s.end_zone_polls, approach)]
        step = self.estimator.next_step_bounds(s.step_coarse) if s.step_coarse < 1 else None
        if step is not None:
            lo, hi = step
            if hi > now:
                # Missing a step by a little costs no lag, only precision: go straight to its window.
                targets.insert(0, (step, s.step_zone_polls, 1.0))
            elif end[0] > now:
                # The step is late: keep looking for it, less and less closely, rather than lose it.
                self._step_misses += 1
                zone = max((hi - lo) / s.step_zone_polls, s.min_interval)
                delay = min(
                    zone * s.stall_factor**self._step_misses, s.max_interval, s.approach * (end[0] - now)
                )
                return max(delay, s.min_interval)
        for index, ((lo, hi), zone_polls, approach) in enumerate(targets):
            if hi > now:
                # Before the window approach its start; inside it, cover it with a few polls. A window of the
                # end narrower than the spacing of its polls takes one poll, at its close.
                if index == len(targets) - 1 and hi - lo <= s.end_spacing:
                    delay = hi + s.end_margin - now
                else:
                    delay = approach * (lo - now) if lo > now else (hi - lo) / zone_polls
                delay = min(max(delay, s.min_interval), s.max_interval)
                return min(delay, max(s.growth * (now - self.start), s.min_interval))
        self._overdue += 1
        extra = self._overdue - s.stall_polls
        if extra <= 0:
            return s.min_interval
        return min(max(s.min_interval * s.stall_factor**extra, s.min_interval), s.stall_cap)

    def _grid_delay(self, now: float) -> float | None:
        """The next delay under the equal-steps model, or None when the progress does not fit it.

        The end is sure to lie in its window, so no poll is spent before it opens; inside it polls come every
        ``end_spacing`` (the worst detection lag). An earlier step is worth pinning down when that narrows
        the end window by more than it costs: :meth:`_grid_plan` weighs that.
        """
        s = self.schedule
        self._grid_end = None
        grid = self.estimator.step_grid(s.step_coarse, s.step_slack)
        end = grid.window(grid.steps) if grid is not None else None
        if grid is None or end is None or end[1] < now:
            return None  # not equal steps, or they broke the pattern (e.g. a stall): the estimator takes over
        self._grid_end = end
        _, window, spacing = self._grid_plan(grid, grid.level + 1, (), s.grid_lookahead)
        if window is None:
            return None
        lo, hi = window
        target = min(max(lo, now) + spacing, hi)
        return min(max(target - now, s.min_interval), s.max_interval)

    def _grid_plan(
        self, grid: StepGrid, step: int, extra: tuple[tuple[int, float, float], ...], depth: int
    ) -> tuple[float, tuple[float, float] | None, float]:
        """(expected polls until the end is seen, window of the first step to poll for, spacing there).

        Looks ``depth`` steps ahead: each is either left to be seen by later polls, or covered with a few
        polls, assumed to pin it in the middle of its window.
        """
        s = self.schedule
        window = grid.window(step, extra)
        if window is None:
            return math.inf, None, 0.0
        lo, hi = window
        width = hi - lo
        if step >= grid.steps:
            return width / (2 * s.end_spacing) + 1, window, s.end_spacing
        if depth <= 0:
            return self._grid_plan(grid, grid.steps, extra, 0)
        best = self._grid_plan(grid, step + 1, extra, depth - 1)
        middle = (lo + hi) / 2
        for polls in _PIN_POLLS:
            spacing = width / polls
            if spacing < s.min_interval and polls > 1:
                break
            pinned = (*extra, (step, middle - spacing / 2, middle + spacing / 2))
            cost = (polls + 1) / 2 + self._grid_plan(grid, step + 1, pinned, depth - 1)[0]
            if cost < best[0]:
                best = (cost, window, spacing)
        return best


class EtaEstimator:
    """Predicts when a progress fraction sampled now and then reaches 1.0, with an uncertainty window.

    Only changes of the fraction carry information, so the estimator keeps change points. A smoothly moving
    fraction is exact at the poll that saw it: the end comes from fitting ``1 - f = c * (T - t)**p`` to the
    recent change points (``window`` of the elapsed time, at least four points), which covers constant-rate
    and slowing-down jobs, or from the recent rate while there are too few points. A stepped (or coarsely
    rounded) fraction changes somewhere between two polls: each change is taken at the midpoint, half the gap
    becomes uncertainty, and the rate is taken from the reference point that gives the narrowest window
    (usually the start: for stepped progress the overall average rate is the robust one). No prediction is
    earlier than the last sample.
    """

    def __init__(self, *, window: float = 0.25) -> None:
        self._window = window
        # (earliest, latest) time at which the fraction may have changed to the value, and the value.
        self._changes: list[tuple[float, float, float]] = []
        self._anchored = False
        self._last_t: float | None = None
        self._last_f: float | None = None
        self._polls_since_change = 0
        self._equal_steps = False  # moved twice by the same coarse amount over unequal gaps
        self._smooth = False  # moved by unequal amounts
        self._fit_key: tuple[tuple[float, float], ...] = ()
        self._fit: _Fit | None = None

    def anchor(self, earliest: float, latest: float) -> None:
        """The fraction was 0 at some moment between ``earliest`` and ``latest`` (e.g. when the job started).

        Only meaningful before the first sample; later calls are ignored.
        """
        if self._last_t is None:
            self._changes.append((earliest, latest, 0.0))
            self._anchored = True
            self._last_t, self._last_f = earliest, 0.0

    @property
    def last_change(self) -> float:
        """When the fraction last changed (the latest moment it may have); -inf before any sample."""
        return self._changes[-1][1] if self._changes else -math.inf

    @property
    def stepped(self) -> bool:
        """Whether change times are only known between polls (a stepped or coarsely rounded fraction).

        Assumed until the fraction has moved by two different amounts: that costs a poll or two on smooth
        jobs but never trusts a single coarse jump as an exact sample. A fraction that moved smoothly and then
        stands still (held at 0.99 until the end) stays smooth.
        """
        return self._equal_steps or not self._smooth

    def observe(self, t: float, fraction: float) -> bool:
        """Record a sample; return True if the fraction changed (the first sample counts as a change)."""
        previous_t, previous_f = self._last_t, self._last_f
        self._last_t, self._last_f = t, fraction
        if previous_f is not None and abs(fraction - previous_f) < 1e-9:
            self._polls_since_change += 1
            return False
        self._polls_since_change = 0
        if previous_t is not None and previous_f is not None and fraction < previous_f:
            # Progress went backwards (a new phase restarting its count): the old history says nothing.
            self._changes = [(previous_t, t, fraction)]
            self._anchored = False
            return True
        self._changes.append((previous_t if previous_t is not None else t, t, fraction))
        if len(self._changes) >= 3:
            (_, t1, f1), (_, t2, f2), (_, t3, f3) = self._changes[-3:]
            if abs((f3 - f2) - (f2 - f1)) >= 1e-9:
                self._smooth = True
            elif f3 - f2 >= 0.005 and abs((t3 - t2) - (t2 - t1)) > 0.05 * max(t3 - t2, t2 - t1):
                # Equal coarse steps over clearly unequal gaps are no coincidence: a smooth fraction would
                # have moved in proportion to the gaps.
                self._equal_steps = True
        return True

    def _points(self) -> list[tuple[float, float, float]]:
        """Change points as (time, half-width of its uncertainty, fraction)."""
        if self.stepped:
            return [((lo + hi) / 2, (hi - lo) / 2, f) for lo, hi, f in self._changes]
        points = [(hi, 0.0, f) for _, hi, f in self._changes]
        if self._anchored:
            lo, hi, f = self._changes[0]
            points[0] = ((lo + hi) / 2, (hi - lo) / 2, f)
        return points

    def _basis(self) -> tuple[tuple[float, float, float], tuple[float, float, float], float] | None:
        """The last change point, the reference point the rate is measured from, and the rate.

        Smooth: the newest point at least ``window`` of the elapsed time back (a recent rate). Stepped: among
        those, the one that gives the narrowest prediction.
        """
        if len(self._changes) < 2 or self._last_t is None:
            return None
        points = self._points()
        last = points[-1]
        span = self._window * (self._last_t - points[0][0])
        older = [p for p in points[:-1] if last[0] - p[0] >= span and last[0] > p[0] and last[2] > p[2]]
        if not older:
            older = [points[0]]
        if self.stepped:
            ref = min(
                older, key=lambda p: (last[1] + p[1]) / (last[0] - p[0]) if last[0] > p[0] else math.inf
            )
        else:
            ref = older[-1]
        dt, df = last[0] - ref[0], last[2] - ref[2]
        if dt <= 0 or df <= 0:
            return None
        return last, ref, df / dt

    def rate(self) -> float | None:
        """Progress per second, or None while there is too little history."""
        basis = self._basis()
        return basis[2] if basis else None

    def _window_for(self, step: float) -> tuple[float, float] | None:
        basis = self._basis()
        if basis is None:
            return None
        (t_c, h_c, _), (t_r, h_r, _), rate = basis
        ahead = step / rate
        centre = t_c + ahead
        spread = h_c + ahead * (h_c + h_r) / (t_c - t_r)
        return centre - spread, centre + spread

    def _fitted_end(self) -> _Fit | None:
        """The end of the curve fitted to the recent change points, and how far the curve fitted without the
        newest point missed it: that miss, per second of extrapolation, is how far to trust the end."""
        if self._last_t is None:
            return None
        points = [(t, f) for t, _, f in self._points()[1 if self._anchored else 0 :] if f < _HELD_AT - 1e-9]
        if (
            len(points) >= 2
            and points[-1][1] == self._last_f
            and self._polls_since_change >= 2
            and self._last_t - points[-1][0] > points[-1][0] - points[-2][0]
        ):
            points.pop()  # a value the job then sat on is a cap or a step, not an exact sample of the curve
        span = self._window * (self._last_t - self._changes[0][0])
        recent = [p for p in points if p[0] >= points[-1][0] - span] if points else []
        if len(recent) < 5:
            recent = points[-5:]
        key = tuple(recent)
        if key != self._fit_key:  # plateaus repeat the same question: fit once
            self._fit_key, self._fit = key, self._fit_recent(recent)
        return self._fit

    @staticmethod
    def _fit_recent(recent: Sequence[tuple[float, float]]) -> _Fit | None:
        whole = _fit_power(recent)
        if whole is None:
            return None
        (t_prev, _), (t_last, f_last) = recent[-2], recent[-1]
        before = _fit_power(recent[:-1]) if len(recent) >= 4 else None
        if before is None:
            return _Fit(whole.end, None)
        return _Fit(whole.end, abs(before.time_at(f_last) - t_last) / max(t_last - t_prev, 1e-9))

    def eta_bounds(
        self,
        *,
        spread: float = 0.0,
        miss_factor: float = 1.0,
        unchecked: float = 0.0,
        trusted: float | None = None,
    ) -> tuple[float, float] | None:
        """Earliest and latest plausible end, given how precisely the change points are known.

        A fitted curve is exact where it was sampled, not where it is extrapolated to: its end is widened by
        a share of the time from the fraction's last change (a first 0.99 says the end is near):
        ``miss_factor`` x how far the curve fitted without the newest point missed it (per second ahead), at
        least ``spread``, or ``unchecked`` while there is no such curve. With ``trusted``, a curve that missed
        by more does not push the window past the end the current rate gives. The window is not clipped to
        the last sample, so its width stays the uncertainty of the prediction.
        """
        if self._last_f is None:
            return None
        if not self.stepped:
            fitted = self._fitted_end()
            if fitted is not None:
                end, miss = fitted.end, fitted.miss
                ratio = max(spread, unchecked if miss is None else miss_factor * miss)
                reach = ratio * max(end - self.last_change, 0.0)
                earliest = end - reach
                if trusted is not None and not self.trusted(trusted):
                    # A curve that has not yet predicted a poll is not trusted past the end the current rate
                    # gives (earlier than the curve's when the job slows down, as IMS jobs do).
                    current = self._current_rate_end()
                    if current is not None:
                        earliest = min(earliest, current)
                return earliest, end + reach
        return self._window_for(1.0 - self._last_f)

    def trusted(self, limit: float) -> bool:
        """Whether the end comes from a curve that, fitted without the newest sample, predicted it to within
        ``limit`` x the time it was predicted ahead."""
        if self.stepped:
            return False
        fitted = self._fitted_end()
        return fitted is not None and fitted.miss is not None and fitted.miss <= limit

    def _current_rate_end(self) -> float | None:
        """When the fraction reaches 1.0 at the rate between the last two fitted samples."""
        samples = [(hi, f) for _, hi, f in self._changes if f < _HELD_AT - 1e-9]
        if len(samples) < 2:
            return None
        (t1, f1), (t2, f2) = samples[-2:]
        if t2 <= t1 or f2 <= f1:
            return None
        return t2 + (1.0 - f2) * (t2 - t1) / (f2 - f1)

    def eta(self) -> float | None:
        """Predicted time at which the fraction reaches 1.0 (same clock as the samples), or None."""
        bounds = self.eta_bounds()
        if bounds is None or self._last_t is None:
            return None
        return max((bounds[0] + bounds[1]) / 2, self._last_t)

    def next_step_bounds(self, coarse: float, last_steps: int = 3) -> tuple[float, float] | None:
        """When a stepped fraction should next move, unless that move is the end.

        Only coarse steps (at least ``coarse``) and the ``last_steps`` steps before the end are worth it:
        knowing exactly when the last steps happened is what makes the end predictable.
        """
        if not self.stepped or len(self._changes) < 2 or self._last_f is None:
            return None
        recent = self._changes[-6:]
        step = min(b[2] - a[2] for a, b in itertools.pairwise(recent))
        if step <= 0 or self._last_f + step >= 1.0 - 1e-6:
            return None
        if step < coarse and 1.0 - self._last_f > last_steps * step + 1e-9:
            return None
        return self._window_for(step)

    def step_grid(self, coarse: float, slack: float = 0.0) -> StepGrid | None:
        """The history as equal steps of at least ``coarse`` (see :class:`StepGrid`), or None if it is not.

        ``slack`` widens every observed interval, for clocks that do not quite agree.
        """
        if len(self._changes) < 2 or self._last_t is None:
            return None
        values = [f for _, _, f in self._changes]
        step = min(b - a for a, b in itertools.pairwise(values))
        if step < coarse:
            return None
        steps = round(1.0 / step)
        if steps < 2 or abs(steps * step - 1.0) > steps * _GRID_TOLERANCE:
            return None
        levels = [round(f * steps) for f in values]
        if any(abs(f - k / steps) > _GRID_TOLERANCE for f, k in zip(values, levels, strict=True)):
            return None
        if levels[-1] >= steps:
            return None
        rows: list[tuple[int, float, float]] = []
        for index, ((lo, hi, _), level) in enumerate(zip(self._changes, levels, strict=True)):
            if index == 0:
                # The anchor (0 at the start) or, unanchored, a first sample: before it only an upper bound.
                new: Sequence[int] = [level]
                if not self._anchored and lo >= hi:
                    lo = -math.inf
            else:
                new = range(levels[index - 1] + 1, level + 1)
            rows.extend((k, lo - slack, hi + slack) for k in new)
        rows.append((levels[-1] + 1, self._last_t - slack, math.inf))
        return StepGrid(steps=steps, level=levels[-1], rows=tuple(rows))


@dataclass(frozen=True)
class StepGrid:
    """Equal progress steps at equal intervals: step ``k`` (fraction ``k / steps``) comes at ``a + k * s``.

    Stepped progress only says between which two polls each step happened, but when the steps are equal,
    every such interval bounds the same line, and the moment of any later step, the end included, has hard
    bounds over all ``(a, s)`` that fit every observation (:func:`_grid_range`). A window from this model is
    exact, not estimated: the poller can sleep until it opens and spend polls only inside it.
    """

    steps: int  # the end is step ``steps``
    level: int  # the step reached at the last poll
    rows: tuple[tuple[int, float, float], ...]  # (step, earliest, latest) for each step seen, and the next

    def window(self, step: int, extra: Sequence[tuple[int, float, float]] = ()) -> tuple[float, float] | None:
        """Earliest and latest moment of ``step`` given the observations (and hypothetical ``extra`` ones)."""
        return _grid_range((*self.rows, *extra), step)


def _grid_range(rows: Sequence[tuple[int, float, float]], level: int) -> tuple[float, float] | None:
    """Earliest and latest ``a + level * s`` over all ``(a, s > 0)`` with ``lo <= a + j * s <= hi`` per row.

    A two-variable linear program: for a fixed interval ``s`` the start ``a`` ranges over
    ``[max(lo - j*s), min(hi - j*s)]``, so the feasible intervals form one range of ``s`` and the extremes
    of the target are piecewise linear in ``s`` with breakpoints where two rows' lines cross. Evaluating the
    range ends and those breakpoints is exact. None when the rows contradict each other or the range is
    unbounded.
    """
    s_lo, s_hi = 1e-6, _GRID_FAR
    for i, lo_i, hi_i in rows:
        if lo_i > hi_i:
            return None
        for j, _, hi_j in rows:
            if j == i or not (math.isfinite(lo_i) and math.isfinite(hi_j)):
                continue
            if j > i:  # a + j*s <= hi_j and a + i*s >= lo_i
                s_hi = min(s_hi, (hi_j - lo_i) / (j - i))
            else:
                s_lo = max(s_lo, (lo_i - hi_j) / (i - j))
    if s_lo > s_hi + 1e-9:
        return None
    candidates = {s_lo, s_hi}
    for (i, lo_i, hi_i), (j, lo_j, hi_j) in itertools.combinations(rows, 2):
        if i != j:
            for a, b in ((lo_i, lo_j), (hi_i, hi_j)):
                if math.isfinite(a) and math.isfinite(b):
                    s = (b - a) / (j - i)
                    if s_lo < s < s_hi:
                        candidates.add(s)
    earliest, latest = math.inf, -math.inf
    for s in candidates:
        low = max((lo + (level - j) * s for j, lo, _ in rows if math.isfinite(lo)), default=-math.inf)
        high = min((hi + (level - j) * s for j, _, hi in rows if math.isfinite(hi)), default=math.inf)
        if low > high + 1e-6:
            continue
        earliest, latest = min(earliest, low), max(latest, high)
    if not (math.isfinite(earliest) and math.isfinite(latest)) or latest - earliest > _GRID_FAR / 10:
        return None
    return earliest, latest


@dataclass(frozen=True)
class _Fit:
    """A curve's end, and how far it missed the newest sample when fitted without it (per second it looked
    ahead; None with too few samples to check)."""

    end: float
    miss: float | None


@dataclass(frozen=True)
class PowerCurve:
    """``1 - f = c * (end - t)**p``: a constant rate is p = 1, a job that slows down towards its end p > 1."""

    end: float
    p: float
    log_c: float

    def time_at(self, fraction: float) -> float:
        """When the curve reaches ``fraction`` (< 1)."""
        return self.end - math.exp((math.log(1.0 - fraction) - self.log_c) / self.p)


def _fit_power(points: Sequence[tuple[float, float]]) -> PowerCurve | None:
    """Fit ``1 - f = c * (T - t)**p`` to (t, f) samples; None if nothing plausible fits.

    Fitting p keeps the prediction right for jobs that slow down, and when the reported fraction stops short
    of 1.0 (IMS and the emulator hold it at 0.99 until the end) the curve fitted before that still says when
    the job ends.
    """
    if len(points) < 3 or any(f >= 1.0 for _, f in points):
        return None
    ts = [t for t, _ in points]
    ys = [math.log(1.0 - f) for _, f in points]
    t_last, span = ts[-1], ts[-1] - ts[0]
    if span <= 0:
        return None

    def fit(u: float) -> tuple[float, float, float]:
        xs = [math.log(t_last + math.exp(u) - t) for t in ts]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx <= 1e-18:
            return math.inf, 0.0, 0.0
        p = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
        residual = sum((y - my - p * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
        return residual, p, my - p * mx

    lo, hi = math.log(span * 1e-3), math.log(span * 1e3)
    grid = [lo + (hi - lo) * i / 36 for i in range(37)]
    best = min(range(len(grid)), key=lambda i: fit(grid[i])[0])
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(30):  # golden-section search between the grid neighbours of the best point
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if fit(c)[0] < fit(d)[0]:
            b = d
        else:
            a = c
    u = (a + b) / 2
    _, p, log_c = fit(u)
    if not 0.3 <= p <= 8.0:
        return None
    return PowerCurve(t_last + math.exp(u), p, log_c)
