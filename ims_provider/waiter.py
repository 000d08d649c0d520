"""Waiting for asynchronous work, botocore-waiter style: each wait is data run by one loop.

A :class:`WaitSpec` says how to read a polled value (done, failed or pending, and how far along) and when to
poll (:class:`~ims_provider.eta.PollSchedule`); :func:`wait` is the only loop, and :class:`Clock` is injected
so that tests and the benchmark run hour-long waits in virtual time. What the specs for IMS jobs and images
are lives in :mod:`ims_provider.jobs`; how the next delay is chosen lives in :mod:`ims_provider.eta`.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from ims_provider.errors import WaitTimeoutError
from ims_provider.eta import PREDICTIVE_SCHEDULE, Planner, PollSchedule

__all__ = [
    "SYSTEM_CLOCK",
    "Clock",
    "FakeClock",
    "Outcome",
    "PollEvent",
    "Progress",
    "WaitSpec",
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
    planner = Planner(spec.schedule, start)
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
        if error is not None:
            delay = planner.after_error(now)
        else:
            fraction = progress.fraction if progress is not None else None
            delay = planner.after_value(now, fraction, has_progress=progress is not None)
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
