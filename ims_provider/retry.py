"""What to retry, and how long to wait: capped exponential backoff with full jitter.

The key distinction is whether a failed request may have been processed. Idempotent calls (GET,
DELETE, PUT and the calls the client marks idempotent) are simply re-sent. The create call is not
idempotent (a second POST makes a second image), so it is re-sent only when the failure proves the
request never reached IMS (no connection was made, or the gateway throttled it); any other failure
is reported as ambiguous instead of being guessed at.
"""

from __future__ import annotations

import enum
import random
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import NewConnectionError

__all__ = [
    "FLOW_CONTROL_CODES",
    "NO_RETRY",
    "RETRYABLE_5XX",
    "THROTTLING_CODES",
    "Outcome",
    "RetryPolicy",
    "classify_exception",
    "classify_response",
    "is_throttling",
    "parse_retry_after",
    "untrusted_certificate",
]

THROTTLING_CODES = frozenset({"APIGW.0308", "APIG.0308"})
# IMS job flow control: "job count over the flow-control limit, retry later" (HTTP 400).
FLOW_CONTROL_CODES = frozenset({"IMG.0060"})
RETRYABLE_5XX = frozenset({500, 502, 503, 504})
_MAX_EXPONENT = 62


class Outcome(enum.Enum):
    """What the caller should do with a failed attempt."""

    RETRY = "retry"  # safe to send again
    RAISE = "raise"  # final; report the error as it is
    AMBIGUOUS = "ambiguous"  # a non-idempotent request may or may not have been processed


def is_throttling(status: int, code: str | None) -> bool:
    """Gateway rate limiting (any 429) or IMS job flow control (``IMG.0060``)."""
    return status == 429 or (code or "") in THROTTLING_CODES or (code or "") in FLOW_CONTROL_CODES


def classify_response(status: int, code: str | None, *, idempotent: bool) -> Outcome:
    """Decide on an error response. Throttling was rejected before any work, so any method retries."""
    if is_throttling(status, code):
        return Outcome.RETRY
    if status in RETRYABLE_5XX:
        return Outcome.RETRY if idempotent else Outcome.AMBIGUOUS
    return Outcome.RAISE


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (``args``, urllib3 ``reason``) and its ``__cause__``/``__context__``."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(current.args)
        stack.extend(e for e in linked if isinstance(e, BaseException))


def _never_sent(exc: BaseException) -> bool:
    """True when the connection was never established, so no byte of the request reached IMS."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
        exc, requests.exceptions.SSLError | requests.exceptions.ProxyError
    ):
        return False
    return any(
        isinstance(e, NewConnectionError | ConnectionRefusedError | socket.gaierror) for e in _causes(exc)
    )


def untrusted_certificate(exc: BaseException) -> bool:
    """True when the failure (or anything it wraps) is a certificate this client does not trust."""
    return any(isinstance(e, ssl.SSLCertVerificationError) for e in _causes(exc))


def classify_exception(exc: BaseException, *, idempotent: bool) -> Outcome:
    """Decide on a transport failure (``requests`` exception)."""
    if _never_sent(exc):
        return Outcome.RETRY
    if isinstance(exc, requests.exceptions.SSLError) and untrusted_certificate(exc):
        return Outcome.RAISE  # a certificate problem does not heal by retrying
    transient = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    )
    if isinstance(exc, transient):
        return Outcome.RETRY if idempotent else Outcome.AMBIGUOUS
    return Outcome.RAISE


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN / inf
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, backoff and the overall time budget for one client call.

    Delay before retry *n* is uniform in ``[0, min(cap, base * 2**(n-1))]`` (full jitter, so many
    workers throttled together spread out), and never above ``cap`` unless the server sent a longer
    ``Retry-After``: a retry never comes earlier than the server asked. A call gives up when
    ``max_attempts`` are used or the next wait would run past ``budget`` seconds since the first attempt.
    """

    max_attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    budget: float = 120.0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base < 0 or self.cap < 0 or self.budget < 0:
            raise ValueError("base, cap and budget must not be negative")

    def backoff(self, retry: int) -> float:
        """Full-jitter delay before retry number ``retry`` (1 = the first retry)."""
        exponent = min(max(retry - 1, 0), _MAX_EXPONENT)
        ceiling = min(self.cap, self.base * float(2**exponent))
        return self.rng.uniform(0.0, ceiling)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Backoff (within ``[0, cap]``), or ``Retry-After`` when the server asked for longer."""
        wait = self.backoff(retry)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return max(wait, 0.0)

    def next_delay(self, attempts: int, elapsed: float, retry_after: float | None = None) -> float | None:
        """Seconds to sleep after ``attempts`` failed attempts, or None to give up."""
        if attempts >= self.max_attempts:
            return None
        wait = self.delay(attempts, retry_after)
        if elapsed + wait > self.budget:
            return None
        return wait


NO_RETRY = RetryPolicy(max_attempts=1)
