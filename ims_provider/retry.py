"""Errors classed once, and one policy per class: what is retried, how often, and what create does.

Every failed call is put in one :class:`ErrorClass` by :func:`classify_response` or
:func:`classify_exception`, and :data:`POLICY` says what happens to that class: whether the client sends the
call again (and for how many attempts and seconds), what a create does (the create is not idempotent: a second
POST makes a second image, so it is re-sent only when IMS provably did no work), and whether a wait carries on
through it. The client, the waits, the create and the README's retry table all read :data:`POLICY`; nothing
else decides.
"""

from __future__ import annotations

import enum
import random
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import NewConnectionError

from ims_provider.errors import AmbiguousRequestError, ImsApiError, ImsConnectionError

__all__ = [
    "BUSY_CODES",
    "FLOW_CONTROL_CODES",
    "NO_RETRY",
    "POLICY",
    "THROTTLING_CODES",
    "ErrorClass",
    "Handling",
    "Outcome",
    "RetryPolicy",
    "classify_exception",
    "classify_response",
    "error_class_of",
    "outcome",
    "outlives_waits",
    "parse_retry_after",
    "untrusted_certificate",
]

THROTTLING_CODES = frozenset({"APIGW.0308", "APIG.0308"})
# IMS job flow control: "job count over the flow-control limit, retry later" (HTTP 400).
FLOW_CONTROL_CODES = frozenset({"IMG.0060"})
# The source is being imaged: the ECS has in-progress tasks, or another disk of the VM is being imaged.
BUSY_CODES = frozenset({"IMG.0010", "IMG.0139"})
UNAVAILABLE_5XX = frozenset({500, 502, 503, 504})
_JOB_PATH = re.compile(r"^/v1/(cloudimages/job|[^/]+/jobs)/[^/]+$")
_MAX_EXPONENT = 62
NOT_APPLICABLE = "\u2013"  # the README table's dash


class ErrorClass(str, enum.Enum):
    THROTTLED = "throttled"
    NOT_SENT = "not sent"
    UNAVAILABLE = "unavailable"
    IMS_FAULT = "IMS error"
    BUSY = "source busy"
    JOB_NOT_FOUND = "job not found"
    UNTRUSTED = "untrusted certificate"
    CLIENT = "client error"


@dataclass(frozen=True)
class Handling:
    """The policy of one class. ``attempts``/``budget`` bound the client's re-sends (None: the client's
    :class:`RetryPolicy` limits); ``retried``: idempotent calls are re-sent; ``create_resent``: a create is
    re-sent by the client (IMS provably did no work); ``create_ambiguous``: a create's outcome is unknown, so
    the create searches for its image before it sends again; ``wait_outlives``: a poll loop carries on through
    it until its deadline."""

    failure: str  # the README's words for it
    calls: str
    create: str
    waits: str
    retried: bool = False
    create_resent: bool = False
    create_ambiguous: bool = False
    wait_outlives: bool = False
    attempts: int | None = None
    budget: float | None = None


POLICY: dict[ErrorClass, Handling] = {
    ErrorClass.THROTTLED: Handling(
        "throttled: 429 (`APIGW.0308`, `APIG.0308`), `IMG.0060` job flow control",
        "retried with backoff, never sooner than `Retry-After`",
        "re-sent (the gateway refused it before any work)",
        "carried on until the deadline",
        retried=True,
        create_resent=True,
        wait_outlives=True,
    ),
    ErrorClass.NOT_SENT: Handling(
        "never sent: connection refused, DNS failure, connect timeout",
        "retried",
        "re-sent (the request provably never reached IMS)",
        "carried on until the deadline",
        retried=True,
        create_resent=True,
        wait_outlives=True,
    ),
    ErrorClass.UNAVAILABLE: Handling(
        "unavailable: 500/502/503/504 with no IMS error code (no body, or a gateway's), connection reset "
        "after sending, read timeout",
        "retried",
        "not re-sent blindly: IMS is searched for the image the request may have made for "
        "`ims:recoveryGrace` (60 s), then it is sent again (at most 10 sends)",
        "carried on until the deadline",
        retried=True,
        create_ambiguous=True,
        wait_outlives=True,
    ),
    ErrorClass.IMS_FAULT: Handling(
        "IMS's own error: a 5xx that carries an IMS error code (e.g. 500 `IMG.0061`)",
        "retried, at most 3 attempts within 60 s, then the error as IMS gave it",
        "sent again after a search for its image, at most 3 sends within 60 s, then the error as IMS gave it",
        "the error ends the wait",
        retried=True,
        attempts=3,
        budget=60.0,
    ),
    ErrorClass.BUSY: Handling(
        "source busy: `IMG.0010` (the ECS has an image job running), `IMG.0139` (another disk of the VM is "
        "being imaged)",
        "not retried",
        "waits and re-submits with backoff (5 s, growing to 60 s) until `timeouts.create`",
        NOT_APPLICABLE,
    ),
    ErrorClass.JOB_NOT_FOUND: Handling(
        "job not found: 404 (`IMG.0086`) from the job APIs",
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        "tolerated for `ims:recoveryGrace` (60 s) after the job was submitted, then an error naming the job "
        "that says the image may still be made and that `pulumi up` again adopts it",
    ),
    ErrorClass.UNTRUSTED: Handling(
        "TLS certificate not trusted",
        "never retried: fails at once, naming `ims:caBundle`",
        "the same",
        "the error ends the wait",
    ),
    ErrorClass.CLIENT: Handling(
        "any other 4xx (and 501)",
        "never retried",
        "never retried",
        "the error ends the wait",
    ),
}


class Outcome(enum.Enum):
    """What the client does with one failed attempt."""

    RETRY = "retry"  # safe to send again
    RAISE = "raise"  # final for this call; the caller (create, a wait) applies the rest of the policy
    AMBIGUOUS = "ambiguous"  # a non-idempotent request may or may not have been processed


def classify_response(status: int, code: str | None, path: str = "") -> ErrorClass:
    """The class of an error answer (``code`` is IMS's or the gateway's error code, or the status)."""
    code = code or ""
    if status == 429 or code in THROTTLING_CODES or code in FLOW_CONTROL_CODES:
        return ErrorClass.THROTTLED
    if code in BUSY_CODES:
        return ErrorClass.BUSY
    if status == 404 and _JOB_PATH.match(path.partition("?")[0]):
        return ErrorClass.JOB_NOT_FOUND
    if status >= 500 and code.startswith("IMG."):
        return ErrorClass.IMS_FAULT
    if status in UNAVAILABLE_5XX:
        return ErrorClass.UNAVAILABLE
    return ErrorClass.CLIENT


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


def classify_exception(exc: BaseException) -> ErrorClass:
    """The class of a transport failure (a ``requests`` exception)."""
    if _never_sent(exc):
        return ErrorClass.NOT_SENT
    if isinstance(exc, requests.exceptions.SSLError) and untrusted_certificate(exc):
        return ErrorClass.UNTRUSTED  # a certificate problem does not heal by retrying
    transient = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    )
    if isinstance(exc, transient):
        return ErrorClass.UNAVAILABLE
    return ErrorClass.CLIENT


def error_class_of(exc: BaseException) -> ErrorClass:
    """The class of an error a call raised (after the client applied its part of the policy)."""
    if isinstance(exc, ImsApiError):
        return classify_response(exc.status, exc.code, exc.path)
    if isinstance(exc, AmbiguousRequestError):
        return ErrorClass.UNAVAILABLE
    if isinstance(exc, ImsConnectionError):
        return ErrorClass.UNAVAILABLE if exc.retryable else ErrorClass.UNTRUSTED
    if isinstance(exc, requests.RequestException):
        return classify_exception(exc)
    return ErrorClass.CLIENT


def outlives_waits(exc: BaseException) -> bool:
    """Whether a poll loop carries on through this error until its deadline."""
    return POLICY[error_class_of(exc)].wait_outlives


def outcome(error_class: ErrorClass, *, idempotent: bool) -> Outcome:
    """What the client does with a failed attempt of this class."""
    handling = POLICY[error_class]
    if not idempotent:
        if handling.create_resent:
            return Outcome.RETRY
        return Outcome.AMBIGUOUS if handling.create_ambiguous else Outcome.RAISE
    return Outcome.RETRY if handling.retried else Outcome.RAISE


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
    """Backoff, and the attempts and time budget of one client call (a class's own limits are lower).

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

    def next_delay(
        self,
        attempts: int,
        elapsed: float,
        retry_after: float | None = None,
        handling: Handling | None = None,
        *,
        of_class: int | None = None,
    ) -> float | None:
        """Seconds to sleep after ``attempts`` failed attempts, or None to give up. ``handling`` may bound a
        class lower than this policy does: ``of_class`` of the attempts failed in that class (all of them
        when not given), and its budget counts from the first attempt too."""
        if attempts >= self.max_attempts:
            return None
        budget = self.budget
        if handling is not None:
            failed = attempts if of_class is None else of_class
            if handling.attempts is not None and failed >= handling.attempts:
                return None
            if handling.budget is not None:
                budget = min(budget, handling.budget)
        wait = self.delay(attempts, retry_after)
        if elapsed + wait > budget:
            return None
        return wait


NO_RETRY = RetryPolicy(max_attempts=1)
