"""Durations as written in Terraform/Pulumi ``timeouts`` blocks ("45m", "1h30m", "90s").

Users copy these strings from Terraform configurations, so the grammar follows Go's ``time.ParseDuration``
(which Terraform uses): a sequence of decimal numbers, each with a unit. A bare number means seconds,
because that is what a Pulumi program passing an int most likely means.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["defaults_text", "format_duration", "parse_duration"]

_UNIT_SECONDS: dict[str, float] = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_TERM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([a-zµ]*)")
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)")
_EXAMPLES = "e.g. '45m', '1h30m', '90s' or '600' (seconds)"


def parse_duration(value: str | float, *, field: str = "") -> float:
    """Return the number of seconds ``value`` stands for; raise ValueError (prefixed by ``field``) if invalid.

    Zero and negative durations are rejected: a wait that may not last any time is a configuration mistake,
    not a request to fail immediately.
    """
    pre = f"{field}: " if field else ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{pre}expected a duration such as {_EXAMPLES}, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        return _positive(float(value), pre, repr(value))
    text = value.strip().lower()
    if not text:
        raise ValueError(f"{pre}empty duration; use {_EXAMPLES}")
    if text.startswith("-"):
        raise ValueError(f"{pre}{value!r} is negative; a duration must be positive")
    text = text.removeprefix("+")
    if _NUMBER.fullmatch(text):
        return _positive(float(text), pre, repr(value))
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _TERM.match(text, pos)
        if match is None:
            raise ValueError(f"{pre}{value!r} is not a duration ({_EXAMPLES})")
        number, unit = match.groups()
        if not unit:
            raise ValueError(f"{pre}{value!r} has a number without a unit after it ({_EXAMPLES})")
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"{pre}{value!r} has the unknown unit {unit!r}; use h, m, s or ms ({_EXAMPLES})")
        total += float(number) * _UNIT_SECONDS[unit]
        pos = match.end()
    return _positive(total, pre, repr(value))


def _positive(seconds: float, pre: str, shown: str) -> float:
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"{pre}{shown} is not a finite duration")
    if seconds < 0:
        raise ValueError(f"{pre}{shown} is negative; a duration must be positive")
    if seconds == 0:
        raise ValueError(f"{pre}{shown} is zero; a duration must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    """Format for humans, short and fixed-width enough for progress lines: ``45s``, ``3m10s``, ``1h02m``.

    Seconds are dropped from hour-long durations (nobody cares about them there); the output parses back with
    :func:`parse_duration` (to the whole minute above one hour).
    """
    if math.isnan(seconds) or seconds < 0:
        seconds = 0.0
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def defaults_text(defaults: Mapping[str, float]) -> str:
    """Default timeouts as the docs say them: ``defaults 5m each``, ``defaults create 60m, update 10m``."""

    def short(seconds: float) -> str:
        whole = round(seconds)
        return f"{whole // 60}m" if whole >= 60 and whole % 60 == 0 else format_duration(seconds)

    values = {short(v) for v in defaults.values()}
    if len(values) == 1:
        return f"defaults {values.pop()} each"
    return "defaults " + ", ".join(f"{name} {short(v)}" for name, v in defaults.items())
