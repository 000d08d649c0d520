"""The emulator's job clock.

Jobs and images derive their state from this clock when read, so no background threads are needed and a
manual clock lets a test run a 45-minute job in milliseconds. Signature dates are checked against the real
wall clock, never against this one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

MODES = ("real", "manual")


class EmulatorClock:
    """Seconds since the epoch on the emulator's timeline; real-time (optionally scaled) or manual."""

    def __init__(
        self, mode: str = "real", *, scale: float = 1.0, wall: Callable[[], float] = time.time
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"clock mode must be one of {MODES}, not {mode!r}")
        if scale <= 0:
            raise ValueError("clock scale must be positive")
        self._lock = threading.Lock()
        self._wall = wall
        self._mode = mode
        self._scale = scale
        self._anchor_wall = wall()
        self._anchor_value = self._anchor_wall

    def _value(self) -> float:
        if self._mode == "manual":
            return self._anchor_value
        return self._anchor_value + (self._wall() - self._anchor_wall) * self._scale

    def now(self) -> float:
        with self._lock:
            return self._value()

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def scale(self) -> float:
        return self._scale

    def set_mode(self, mode: str, *, scale: float | None = None) -> None:
        """Switch mode without a jump: the timeline continues from the current value."""
        if mode not in MODES:
            raise ValueError(f"clock mode must be one of {MODES}, not {mode!r}")
        if scale is not None and scale <= 0:
            raise ValueError("clock scale must be positive")
        with self._lock:
            current = self._value()
            self._mode = mode
            if scale is not None:
                self._scale = scale
            self._anchor_wall = self._wall()
            self._anchor_value = current

    def advance(self, seconds: float) -> float:
        """Move the timeline forward (either mode); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        with self._lock:
            self._anchor_value += seconds
            return self._value()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"mode": self._mode, "scale": self._scale, "now": self._value()}
