"""Progress lines for long IMS waits, so a 40-minute ``pulumi up`` does not look hung.

A :class:`ProgressReporter` is an observer for :func:`ims_provider.waiter.wait`. It writes one short line when
the job changes phase (status or current task) and otherwise at most every ``every`` seconds, plus a final
line with the total time. It writes nothing when disabled (quiet mode), and never anything secret: only
labels, job types, states and percentages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ims_provider.durations import format_duration
from ims_provider.waiter import SYSTEM_CLOCK, Clock, Outcome, PollEvent

__all__ = ["ProgressReporter"]

_PhaseKey = tuple[str | None, str | None, str | None, bool]


class ProgressReporter:
    """Writes ``ims: <label>: ...`` lines about one resource operation; elapsed time counts from creation."""

    def __init__(
        self,
        label: str,
        *,
        write: Callable[[str], None],
        clock: Clock = SYSTEM_CLOCK,
        enabled: bool = True,
        every: float = 30.0,
    ) -> None:
        self.label = label
        self.enabled = enabled
        self.every = every
        self._write = write
        self._clock = clock
        self._start = clock.monotonic()
        self._last_write: float | None = None
        self._last_key: _PhaseKey | None = None

    def elapsed(self) -> float:
        return self._clock.monotonic() - self._start

    def __call__(self, event: PollEvent[Any]) -> None:
        """Observer hook for ``wait``: reports pending polls (the caller reports the end: finish)."""
        if not self.enabled or event.outcome is not Outcome.PENDING:
            return
        progress = event.progress
        key: _PhaseKey = (
            progress.subject if progress else None,
            progress.state if progress else None,
            progress.phase if progress else None,
            event.error is not None,
        )
        now = self._clock.monotonic()
        due = self._last_write is None or now - self._last_write >= self.every
        if key == self._last_key and not due:
            return
        self._last_key = key
        self._emit(self._describe(event), now)

    def note(self, text: str) -> None:
        """A one-off line, e.g. the ID of the job just submitted."""
        if self.enabled:
            self._emit(text, self._clock.monotonic())

    def finish(self, outcome_text: str) -> None:
        """The final line, e.g. ``image 3f71... active after 7m02s``."""
        if self.enabled:
            self._emit(f"{outcome_text} after {format_duration(self.elapsed())}", self._clock.monotonic())

    def _emit(self, text: str, now: float) -> None:
        self._last_write = now
        self._write(f"ims: {self.label}: {text}")

    def _describe(self, event: PollEvent[Any]) -> str:
        elapsed = format_duration(self.elapsed())
        progress = event.progress
        subject = (progress.subject if progress else None) or event.spec
        if event.error is not None:
            error = f"{type(event.error).__name__}: {event.error}"
            return f"{subject}: poll failed ({error}), retrying; {elapsed} elapsed"
        parts = [subject]
        if progress is not None and progress.fraction is not None:
            parts.append(f"{int(progress.fraction * 100)}%")
        elif progress is not None and progress.state:
            parts.append(progress.state)
        if progress is not None and progress.phase:
            parts.append(f"({progress.phase})")
        text = " ".join(parts) + f", {elapsed} elapsed"
        if progress is not None and progress.fraction is not None and event.eta is not None:
            left = event.eta - event.elapsed
            if left >= 1:
                text += f", about {format_duration(left)} left"
        return text
