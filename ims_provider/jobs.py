"""Waiting for IMS asynchronous work, botocore-waiter style: each wait is data run by one loop.

A :class:`WaitSpec` says how to read a polled value (done, failed or pending, and how far along) and when to
poll (:class:`PollSchedule`); :func:`wait` is the only loop. IMS image jobs run from minutes to an hour and
report a progress fraction, so the loop does not poll on a fixed grid: :class:`EtaEstimator` predicts when
the job will end from the recent progress rate and polls get denser as that moment nears. Jobs that report
progress in equal steps (IMS quarters) get hard windows from :class:`StepGrid` instead: no poll is spent
before a step or the end can possibly come. Jobs that report no progress fall back to a plain schedule no
busier than Terraform's (first poll after 10 s, then every 10 s).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from ims_provider.errors import WaitTimeoutError

__all__ = [
    "FIXED_5S_SCHEDULE",
    "IMAGE_ACTIVE",
    "IMAGE_ACTIVE_SCHEDULE",
    "IMAGE_GONE",
    "IMAGE_GONE_SCHEDULE",
    "JOB_DONE",
    "PREDICTIVE_SCHEDULE",
    "SYSTEM_CLOCK",
    "TERRAFORM_SCHEDULE",
    "Clock",
    "EtaEstimator",
    "FakeClock",
    "Outcome",
    "PollEvent",
    "PollSchedule",
    "Progress",
    "StepGrid",
    "WaitSpec",
    "job_progress",
    "normalize_fraction",
    "wait",
]

T = TypeVar("T")


class Clock(Protocol):
    """Time source of :func:`wait`; injected so tests and the benchmark run in virtual time."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "SYSTEM_CLOCK"


SYSTEM_CLOCK: Clock = _SystemClock()


class FakeClock:
    """Virtual time: ``sleep`` advances ``now`` instantly, so hour-long waits run in microseconds."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"sleep length must be non-negative, got {seconds}")
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without a sleep (e.g. a slow HTTP call inside ``fetch``)."""
        self.now += seconds


class Outcome(Enum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class Progress:
    """How far a pending value is along; every field is optional because IMS reports them inconsistently."""

    fraction: float | None = None  # 0..1
    phase: str | None = None  # fine-grained step, e.g. IMS current_task "CreateImageTask"
    state: str | None = None  # coarse status, e.g. "RUNNING" or "saving"
    subject: str | None = None  # what is progressing, e.g. "imsCreateImageByInstance"


@dataclass(frozen=True)
class PollSchedule:
    """The knobs of the predictive poller (seconds unless noted).

    * No progress reported: after ``initial_delay``, delays ``fallback_start * fallback_factor**n`` capped at
      ``fallback_cap``. The job defaults make this exactly Terraform's schedule (10 s, then every 10 s).
    * Progress reported but still 0: the job is long; delays grow as ``idle_growth`` x elapsed, between
      ``fallback_start`` and ``idle_cap``.
    * Progress moving: :class:`EtaEstimator` gives a window in which the end is expected. Before it, the delay
      is ``approach`` x (time to the window), so polls get denser as the end nears; inside it, the window is
      covered by ``end_zone_polls`` polls. A fitted end is exact where the curve was sampled, not where it
      is extrapolated to, so it is widened by ``fit_spread`` x the time since the fraction last moved (IMS
      holds 0.99 for the last fifth of an ease-out job). Delays stay within [min_interval, max_interval]
      and never exceed ``growth`` x elapsed (early predictions rest on little data).
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
    max_interval: float = 60.0
    approach: float = 0.5
    fallback_start: float = 10.0
    fallback_factor: float = 1.0
    fallback_cap: float = 10.0
    stall_polls: int = 3
    stall_factor: float = 1.5
    stall_cap: float = 10.0
    window: float = 0.25
    growth: float = 1.0
    idle_growth: float = 0.75
    idle_cap: float = 45.0
    step_coarse: float = 0.1
    step_zone_polls: int = 4
    end_zone_polls: int = 15
    end_spacing: float = 1.5
    step_slack: float = 0.25
    fit_spread: float = 0.005
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
        if not 0 < self.approach < 1:
            raise ValueError("PollSchedule.approach must be between 0 and 1")
        if self.fallback_factor < 1 or self.stall_factor < 1:
            raise ValueError("PollSchedule backoff factors must be at least 1")
        if self.step_slack < 0 or self.fit_spread < 0:
            raise ValueError("PollSchedule.step_slack and fit_spread must not be negative")
        if self.grid_lookahead < 0:
            raise ValueError("PollSchedule.grid_lookahead must not be negative")
        if self.stall_polls < 0:
            raise ValueError("PollSchedule.stall_polls must not be negative")
        if not 0 < self.window <= 1:
            raise ValueError("PollSchedule.window must be in (0, 1]")


# Terraform's huaweicloud provider: first poll after 10 s, then every 10 s, progress ignored.
TERRAFORM_SCHEDULE = PollSchedule(
    initial_delay=10.0, fallback_start=10.0, fallback_factor=1.0, fallback_cap=10.0, predictive=False
)
# The naive alternative: poll every 5 s.
FIXED_5S_SCHEDULE = PollSchedule(
    initial_delay=5.0, fallback_start=5.0, fallback_factor=1.0, fallback_cap=5.0, predictive=False
)
# Ours for jobs. Without progress it is exactly Terraform's schedule (no more polls, same lag).
PREDICTIVE_SCHEDULE = PollSchedule()


def _never(_exc: BaseException) -> bool:
    return False


def _no_progress(_value: Any) -> Progress | None:
    return None


def _no_anomaly(_value: Any) -> str | None:
    return None


@dataclass(frozen=True)
class WaitSpec(Generic[T]):
    """What to wait for: how to classify a polled value, read its progress, and when to poll.

    ``is_transient`` says which exceptions raised by ``fetch`` are swallowed and retried until the deadline.
    ``anomaly`` names what is odd about a pending value (e.g. a job body without status); the loop counts
    those and mentions them if the wait times out, instead of failing on one odd answer.
    """

    name: str
    classify: Callable[[T], Outcome]
    progress: Callable[[T], Progress | None] = _no_progress
    schedule: PollSchedule = PREDICTIVE_SCHEDULE
    is_transient: Callable[[BaseException], bool] = _never
    anomaly: Callable[[T], str | None] = _no_anomaly

    def with_transient(self, predicate: Callable[[BaseException], bool]) -> WaitSpec[T]:
        return dataclasses.replace(self, is_transient=predicate)

    def with_schedule(self, schedule: PollSchedule) -> WaitSpec[T]:
        return dataclasses.replace(self, schedule=schedule)


@dataclass(frozen=True)
class PollEvent(Generic[T]):
    """One poll, as seen by an observer (progress display, logging, the benchmark)."""

    spec: str
    attempt: int  # 1-based
    elapsed: float  # seconds since the wait started, measured after the poll
    value: T | None  # None when the poll raised a transient error
    error: BaseException | None
    outcome: Outcome  # PENDING for a transient error
    progress: Progress | None
    next_delay: float | None  # None on the last poll
    eta: float | None = None  # predicted end, in seconds since the wait started, if known
    anomaly: str | None = None


def normalize_fraction(raw: object) -> float | None:
    """IMS ``process_percent`` as a fraction in [0, 1].

    The API documents a fraction (0.24) but some regions send a percentage (24); any value above 1 can only
    be a percentage. Non-numbers and NaN mean "not reported".
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.strip().rstrip("%"))
        except ValueError:
            return None
    if not isinstance(raw, (int, float)) or math.isnan(raw) or math.isinf(raw):
        return None
    value = float(raw)
    if value > 1:
        value /= 100.0
    return min(max(value, 0.0), 1.0)


def _fit_power_end(points: Sequence[tuple[float, float]]) -> float | None:
    """Fit ``1 - f = c * (T - t)**p`` to (t, f) samples; return the end T, or None if nothing plausible fits.

    A constant rate is the case p = 1; a job that slows down towards its end (ease-out) has p > 1. Fitting p
    keeps the prediction right for such jobs, and when the reported fraction stops short of 1.0 (IMS and the
    emulator hold it at 0.99 until the end) the curve fitted before that still says when the job ends.
    """
    if len(points) < 3 or any(f >= 1.0 for _, f in points):
        return None
    ts = [t for t, _ in points]
    ys = [math.log(1.0 - f) for _, f in points]
    t_last, span = ts[-1], ts[-1] - ts[0]
    if span <= 0:
        return None

    def fit(u: float) -> tuple[float, float]:
        xs = [math.log(t_last + math.exp(u) - t) for t in ts]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx <= 1e-18:
            return math.inf, 0.0
        p = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
        return sum((y - my - p * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True)), p

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
    p = fit(u)[1]
    if not 0.3 <= p <= 8.0:
        return None
    return t_last + math.exp(u)


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
        self._fit_end: float | None = None

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

    def _fitted_end(self) -> float | None:
        if self._last_t is None:
            return None
        points = [(t, f) for t, _, f in self._points()[1 if self._anchored else 0 :]]
        if (
            len(points) >= 2
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
            # The newest point may be a held value seen for the first time, which would bend the curve late;
            # the earlier of the fits with and without it errs on the side of an extra poll, not a late one.
            fits = [_fit_power_end(pts) for pts in (recent, recent[:-1]) if len(pts) >= 4]
            ends = [end for end in fits if end is not None]
            self._fit_key, self._fit_end = key, (min(ends) if ends else None)
        return self._fit_end

    def eta_bounds(self) -> tuple[float, float] | None:
        """Earliest and latest plausible end, given how precisely the change points are known.

        The window is not clipped to the last sample, so its width stays the uncertainty of the prediction.
        """
        if self._last_f is None:
            return None
        if not self.stepped:
            end = self._fitted_end()
            if end is not None:
                return end, end
        return self._window_for(1.0 - self._last_f)

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


_GRID_TOLERANCE = 5e-4  # reported fractions are rounded to 4 decimals: 1/3 arrives as 0.3333
_GRID_FAR = 1e7  # seconds: a step interval longer than this means "unbounded"
_PIN_POLLS = (1, 2, 3, 4, 6, 8)  # how many polls the planner considers spending on one step's window


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


class _Planner:
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

    def after_value(self, now: float, progress: Progress | None) -> float:
        self._errors = 0
        return self._plan(now, progress)

    def after_error(self, now: float) -> float:
        self._errors += 1
        backoff = min(self.schedule.max_interval, self.schedule.min_interval * 2.0 ** (self._errors - 1))
        return max(self._plan(now, None), backoff)

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

    def _plan(self, now: float, progress: Progress | None) -> float:
        s = self.schedule
        if not s.predictive:
            return self._fallback()
        fraction = progress.fraction if progress is not None else None
        if progress is not None and fraction is None and not self._reported:
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
        end = self.estimator.eta_bounds()
        if end is None:
            if fraction is None:
                return self._fallback()
            if fraction > 0:
                # One sample of real progress: too little to predict from, so look again soon.
                return min(max(s.growth * (now - self.start), s.min_interval), s.fallback_start)
            # Progress is reported but has not moved yet: the job is long, so back off with its age.
            return min(max(s.idle_growth * (now - self.start), s.fallback_start), s.idle_cap)
        if end[0] == end[1] and s.fit_spread > 0:
            # A fitted curve is exact where it was sampled, not where it is extrapolated to (e.g. through a
            # fraction held at 0.99 for the last fifth of the job): widen the point by the distance.
            reach = s.fit_spread * max(end[0] - self.estimator.last_change, 0.0)
            end = (end[0] - reach, end[1] + reach)
        targets = [(end, s.end_zone_polls, s.approach)]
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
        for (lo, hi), zone_polls, approach in targets:
            if hi > now:
                # Before the window approach its start; inside it, cover it with a few polls.
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


def wait(
    spec: WaitSpec[T],
    fetch: Callable[[], T],
    *,
    timeout: float,
    clock: Clock = SYSTEM_CLOCK,
    observer: Callable[[PollEvent[T]], None] | None = None,
    what: str = "",
    transient: Callable[[BaseException], bool] | None = None,
) -> T:
    """Poll ``fetch`` until ``spec.classify`` says SUCCESS or FAILURE and return that value.

    The caller turns a FAILURE value into its own exception, because only it knows what the value means.
    Sleeps never reach past the deadline: the last poll happens at the deadline at the latest, and if that
    one is still pending :class:`WaitTimeoutError` is raised (chained to the last transient error, if any).
    ``transient`` overrides ``spec.is_transient``.
    """
    is_transient = transient if transient is not None else spec.is_transient
    what = what or spec.name
    start = clock.monotonic()
    deadline = start + max(timeout, 0.0)
    planner = _Planner(spec.schedule, start)
    delay = spec.schedule.initial_delay
    attempt = 0
    last_value: T | None = None
    last_progress: Progress | None = None
    last_error: BaseException | None = None
    anomalies: Counter[str] = Counter()

    def notify(
        value: T | None,
        error: BaseException | None,
        outcome: Outcome,
        progress: Progress | None,
        anomaly: str | None,
        now: float,
        next_delay: float | None,
    ) -> None:
        if observer is not None:
            observer(
                PollEvent(
                    spec=spec.name,
                    attempt=attempt,
                    elapsed=now - start,
                    value=value,
                    error=error,
                    outcome=outcome,
                    progress=progress,
                    next_delay=next_delay,
                    eta=planner.eta_since_start(),
                    anomaly=anomaly,
                )
            )

    while True:
        pause = min(delay, deadline - clock.monotonic())
        if pause > 0:
            clock.sleep(pause)
        attempt += 1
        progress: Progress | None = None
        anomaly: str | None = None
        error: BaseException | None = None
        value: T | None = None
        try:
            value = fetched = fetch()
        except Exception as exc:
            if not is_transient(exc):
                raise
            error = last_error = exc
        else:
            last_value = fetched
            outcome = spec.classify(fetched)
            if outcome is not Outcome.PENDING:
                notify(fetched, None, outcome, None, None, clock.monotonic(), None)
                return fetched
            progress = last_progress = spec.progress(fetched)
            anomaly = spec.anomaly(fetched)
            if anomaly:
                anomalies[anomaly] += 1
        now = clock.monotonic()
        if now >= deadline:
            notify(value, error, Outcome.PENDING, progress, anomaly, now, None)
            hint = _timeout_hint(attempt, last_progress, last_error, anomalies)
            raise WaitTimeoutError(what, now - start, last_value, hint) from last_error
        delay = planner.after_error(now) if error is not None else planner.after_value(now, progress)
        notify(value, error, Outcome.PENDING, progress, anomaly, now, min(delay, deadline - now))


def _timeout_hint(
    attempts: int, progress: Progress | None, error: BaseException | None, anomalies: Counter[str]
) -> str:
    parts = [f"{attempts} polls"]
    if progress is not None:
        seen = " ".join(
            p
            for p in (
                progress.state,
                f"{progress.fraction:.0%}" if progress.fraction is not None else None,
                f"({progress.phase})" if progress.phase else None,
            )
            if p
        )
        if seen:
            parts.append(f"last seen: {seen}")
    for reason, count in anomalies.most_common():
        parts.append(f"{reason} in {count} of {attempts} polls")
    if error is not None:
        parts.append(f"last error: {type(error).__name__}: {error}")
    return "; ".join(parts)


# --- IMS jobs -------------------------------------------------------------------------------------------

_JOB_PENDING = {"INIT", "RUNNING"}


def _job_status(body: Mapping[str, Any]) -> str:
    status = body.get("status")
    return status.strip().upper() if isinstance(status, str) else ""


def _classify_job(body: Mapping[str, Any]) -> Outcome:
    status = _job_status(body)
    if status == "SUCCESS":
        return Outcome.SUCCESS
    if status in ("FAIL", "FAILED"):
        return Outcome.FAILURE
    # INIT, RUNNING, an unknown new status or none at all: IMS will settle it; a missing status is counted
    # (see _job_anomaly) and reported if the wait times out rather than failing a create on one odd answer.
    return Outcome.PENDING


def _job_anomaly(body: Mapping[str, Any]) -> str | None:
    status = _job_status(body)
    if not status:
        return "the job had no status"
    if status not in _JOB_PENDING:
        return f"the job had the unknown status {status!r}"
    return None


def _entities(body: Mapping[str, Any]) -> Mapping[str, Any]:
    entities = body.get("entities")
    return entities if isinstance(entities, Mapping) else {}


def _sub_job_fraction(sub: Mapping[str, Any]) -> float | None:
    status = _job_status(sub)
    if status in ("SUCCESS", "FAIL", "FAILED"):
        return 1.0
    fraction = normalize_fraction(_entities(sub).get("process_percent"))
    if fraction is None and status == "INIT":
        return 0.0
    return fraction


def job_progress(body: Mapping[str, Any]) -> Progress:
    """Progress of an IMS job body: ``entities.process_percent``, else the mean over its sub-jobs."""
    entities = _entities(body)
    fraction = normalize_fraction(entities.get("process_percent"))
    task = entities.get("current_task")
    phase = task if isinstance(task, str) and task else None
    subs = entities.get("sub_jobs_result")
    if fraction is None and isinstance(subs, Sequence) and not isinstance(subs, str):
        known = [f for f in (_sub_job_fraction(s) for s in subs if isinstance(s, Mapping)) if f is not None]
        if known:
            fraction = sum(known) / len(subs)
    job_type = body.get("job_type")
    return Progress(
        fraction=fraction,
        phase=phase,
        state=_job_status(body) or None,
        subject=job_type if isinstance(job_type, str) and job_type else None,
    )


JOB_DONE: WaitSpec[dict[str, Any]] = WaitSpec(
    name="IMS job",
    classify=_classify_job,
    progress=job_progress,
    schedule=PREDICTIVE_SCHEDULE,
    anomaly=_job_anomaly,
)

# --- images ---------------------------------------------------------------------------------------------


def _image_status(image: Mapping[str, Any] | None) -> str:
    status = image.get("status") if image is not None else None
    return status.strip().lower() if isinstance(status, str) else ""


def _classify_image_active(image: dict[str, Any] | None) -> Outcome:
    status = _image_status(image)
    if status == "active":
        return Outcome.SUCCESS
    if image is None or status in ("killed", "deleted"):
        return Outcome.FAILURE
    return Outcome.PENDING


def _classify_image_gone(image: dict[str, Any] | None) -> Outcome:
    return Outcome.SUCCESS if image is None or _image_status(image) == "deleted" else Outcome.PENDING


def _image_progress(image: dict[str, Any] | None) -> Progress | None:
    if image is None:
        return None
    image_id = image.get("id")
    return Progress(state=_image_status(image) or None, subject=f"image {image_id}" if image_id else "image")


def _image_anomaly(image: dict[str, Any] | None) -> str | None:
    status = _image_status(image)
    if status in ("queued", "saving", "active", "killed", "deleted"):
        return None
    return f"the image had the unknown status {status!r}" if status else "the image had no status"


# After the job succeeded the image is normally active already or within seconds: poll quickly, then back off.
IMAGE_ACTIVE_SCHEDULE = PollSchedule(
    initial_delay=0.0,
    min_interval=1.0,
    max_interval=5.0,
    fallback_start=1.0,
    fallback_factor=1.5,
    fallback_cap=5.0,
    predictive=False,
)
# Deleting is quick; Terraform waits 10 s between checks, 1 s then every 2.5 s finishes a destroy sooner.
IMAGE_GONE_SCHEDULE = PollSchedule(
    initial_delay=1.0,
    min_interval=1.0,
    max_interval=2.5,
    fallback_start=2.5,
    fallback_factor=1.0,
    fallback_cap=2.5,
    predictive=False,
)

IMAGE_ACTIVE: WaitSpec[dict[str, Any] | None] = WaitSpec(
    name="image to become active",
    classify=_classify_image_active,
    progress=_image_progress,
    schedule=IMAGE_ACTIVE_SCHEDULE,
    anomaly=_image_anomaly,
)

IMAGE_GONE: WaitSpec[dict[str, Any] | None] = WaitSpec(
    name="image deletion",
    classify=_classify_image_gone,
    progress=_image_progress,
    schedule=IMAGE_GONE_SCHEDULE,
)
