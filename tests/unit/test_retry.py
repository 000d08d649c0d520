"""Error classes, the policy of each, and backoff."""

from __future__ import annotations

import random
import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from ims_provider.retry import (
    NO_RETRY,
    POLICY,
    ErrorClass,
    Outcome,
    RetryPolicy,
    classify_exception,
    classify_response,
    outcome,
    parse_retry_after,
)


def wrapped(
    reason: Exception, cls: type[requests.RequestException] = requests.exceptions.ConnectionError
) -> Exception:
    """A requests exception shaped like the one HTTPAdapter.send raises."""
    return cls(MaxRetryError(None, "/v2/cloudimages/action", reason=reason))  # type: ignore[arg-type]


REFUSED = wrapped(NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused"))  # type: ignore[arg-type]
DNS = wrapped(NameResolutionError("ims.example", None, socket.gaierror(-2, "Name or service not known")))  # type: ignore[arg-type]
CONNECT_TIMEOUT = requests.exceptions.ConnectTimeout("connect timed out")
RESET = requests.exceptions.ConnectionError(
    ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
)
READ_TIMEOUT = requests.exceptions.ReadTimeout(ReadTimeoutError(None, "/x", "Read timed out."))  # type: ignore[arg-type]
CERT = wrapped(
    requests.exceptions.SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed")),
    requests.exceptions.SSLError,
)
SSL_EOF = requests.exceptions.SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
CHUNKED = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")
INVALID = requests.exceptions.InvalidURL("bad url")


def test_refused_from_socket_chain() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as inner:
            raise requests.exceptions.ConnectionError("wrapped") from inner
    except requests.exceptions.ConnectionError as exc:
        assert classify_exception(exc) is ErrorClass.NOT_SENT
        assert outcome(classify_exception(exc), idempotent=False) is Outcome.RETRY


@pytest.mark.parametrize(
    ("exc", "idempotent_outcome", "create_outcome"),
    [
        (REFUSED, Outcome.RETRY, Outcome.RETRY),
        (DNS, Outcome.RETRY, Outcome.RETRY),
        (CONNECT_TIMEOUT, Outcome.RETRY, Outcome.RETRY),
        (RESET, Outcome.RETRY, Outcome.AMBIGUOUS),
        (READ_TIMEOUT, Outcome.RETRY, Outcome.AMBIGUOUS),
        (CHUNKED, Outcome.RETRY, Outcome.AMBIGUOUS),
        (SSL_EOF, Outcome.RETRY, Outcome.AMBIGUOUS),
        (CERT, Outcome.RAISE, Outcome.RAISE),
        (INVALID, Outcome.RAISE, Outcome.RAISE),
        (ValueError("not a transport error"), Outcome.RAISE, Outcome.RAISE),
    ],
    ids=[
        "refused",
        "dns",
        "connect-timeout",
        "reset",
        "read-timeout",
        "chunked",
        "ssl-eof",
        "cert",
        "invalid",
        "other",
    ],
)
def test_classify_exception(exc: Exception, idempotent_outcome: Outcome, create_outcome: Outcome) -> None:
    assert outcome(classify_exception(exc), idempotent=True) is idempotent_outcome
    assert outcome(classify_exception(exc), idempotent=False) is create_outcome


@pytest.mark.parametrize(
    ("status", "code", "path", "cls"),
    [
        (429, "APIGW.0308", "/v2/cloudimages", ErrorClass.THROTTLED),
        (429, "APIG.0308", "/v2/cloudimages", ErrorClass.THROTTLED),
        (429, "429", "/v2/cloudimages/action", ErrorClass.THROTTLED),
        (400, "IMG.0060", "/v2/cloudimages/action", ErrorClass.THROTTLED),
        (400, "IMG.0010", "/v2/cloudimages/action", ErrorClass.BUSY),
        (400, "IMG.0139", "/v2/cloudimages/action", ErrorClass.BUSY),
        (500, "IMG.0061", "/v2/cloudimages/action", ErrorClass.IMS_FAULT),
        (503, "IMG.0061", "/v2/cloudimages", ErrorClass.IMS_FAULT),
        (500, "500", "/v2/cloudimages/action", ErrorClass.UNAVAILABLE),
        (502, "502", "/v2/cloudimages/action", ErrorClass.UNAVAILABLE),
        (503, "APIGW.0202", "/v2/cloudimages/action", ErrorClass.UNAVAILABLE),
        (504, "504", "/v2/cloudimages/action", ErrorClass.UNAVAILABLE),
        (404, "IMG.0086", "/v1/cloudimages/job/abc", ErrorClass.JOB_NOT_FOUND),
        (404, "IMG.0086", "/v1/0605767c/jobs/abc", ErrorClass.JOB_NOT_FOUND),
        (404, "IMG.0086", "/v2/images/abc", ErrorClass.CLIENT),
        (501, "501", "/v2/cloudimages", ErrorClass.CLIENT),
        (400, "IMG.0009", "/v2/cloudimages/action", ErrorClass.CLIENT),
        (401, "APIGW.0301", "/v2/cloudimages", ErrorClass.CLIENT),
        (404, "APIGW.0101", "/v2/cloudimages", ErrorClass.CLIENT),
    ],
)
def test_each_answer_has_one_class(status: int, code: str, path: str, cls: ErrorClass) -> None:
    assert classify_response(status, code, path) is cls


@pytest.mark.parametrize(
    ("cls", "idempotent_outcome", "create_outcome"),
    [
        (ErrorClass.THROTTLED, Outcome.RETRY, Outcome.RETRY),
        (ErrorClass.NOT_SENT, Outcome.RETRY, Outcome.RETRY),
        (ErrorClass.UNAVAILABLE, Outcome.RETRY, Outcome.AMBIGUOUS),
        (ErrorClass.IMS_FAULT, Outcome.RETRY, Outcome.RAISE),  # create: bounded re-sends, by create itself
        (ErrorClass.BUSY, Outcome.RAISE, Outcome.RAISE),  # create waits and re-submits
        (ErrorClass.JOB_NOT_FOUND, Outcome.RAISE, Outcome.RAISE),  # the job wait tolerates it a while
        (ErrorClass.UNTRUSTED, Outcome.RAISE, Outcome.RAISE),
        (ErrorClass.CLIENT, Outcome.RAISE, Outcome.RAISE),
    ],
)
def test_each_class_has_one_policy(
    cls: ErrorClass, idempotent_outcome: Outcome, create_outcome: Outcome
) -> None:
    assert outcome(cls, idempotent=True) is idempotent_outcome
    assert outcome(cls, idempotent=False) is create_outcome
    assert POLICY[cls].failure and POLICY[cls].calls and POLICY[cls].create and POLICY[cls].waits


def test_ims_errors_are_bounded_below_the_client_budget() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    handling = POLICY[ErrorClass.IMS_FAULT]
    assert policy.next_delay(2, 0.0, handling=handling) is not None
    assert policy.next_delay(3, 0.0, handling=handling) is None  # 3 attempts
    assert policy.next_delay(1, 60.0, handling=handling) is None  # within 60 s
    assert policy.next_delay(3, 0.0, handling=POLICY[ErrorClass.THROTTLED]) is not None


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=42), usegmt=True), now=now) == 42.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=42), usegmt=True), now=now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad) is None


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(cap=-1)


def test_backoff_ceiling_grows_then_caps() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    policy = RetryPolicy(base=0.5, cap=30.0, rng=Top())
    assert [policy.backoff(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.backoff(10_000) == 30.0


def test_next_delay_stops_at_max_attempts_and_budget() -> None:
    policy = RetryPolicy(max_attempts=3, budget=10.0, rng=random.Random(1))
    assert policy.next_delay(1, 0.0) is not None
    assert policy.next_delay(2, 0.0) is not None
    assert policy.next_delay(3, 0.0) is None
    assert policy.next_delay(1, 9.0, retry_after=5.0) is None
    assert policy.next_delay(1, 4.0, retry_after=5.0) == 5.0
    assert NO_RETRY.next_delay(1, 0.0) is None


def test_jitter_is_reproducible_with_seeded_rng() -> None:
    a = RetryPolicy(rng=random.Random(7))
    b = RetryPolicy(rng=random.Random(7))
    assert [a.delay(n) for n in range(1, 8)] == [b.delay(n) for n in range(1, 8)]
    assert a == b  # the rng does not take part in equality


@given(
    retry=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0, max_value=10),
    cap=st.floats(min_value=0, max_value=120),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=1000)),
    seed=st.integers(),
)
def test_delay_within_cap_unless_retry_after_asks_for_longer(
    retry: int, base: float, cap: float, retry_after: float | None, seed: int
) -> None:
    policy = RetryPolicy(base=base, cap=cap, rng=random.Random(seed))
    wait = policy.delay(retry, retry_after)
    assert 0.0 <= wait <= max(cap, retry_after or 0.0)
    if retry_after is not None:
        assert wait >= retry_after  # never earlier than the server asked
    else:
        assert wait <= min(cap, base * 2 ** min(retry - 1, 62))


@given(
    attempts=st.integers(min_value=1, max_value=20),
    elapsed=st.floats(min_value=0, max_value=200),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
    seed=st.integers(),
)
def test_next_delay_never_exceeds_budget(
    attempts: int, elapsed: float, retry_after: float | None, seed: int
) -> None:
    policy = RetryPolicy(rng=random.Random(seed))
    wait = policy.next_delay(attempts, elapsed, retry_after)
    if wait is not None:
        assert attempts < policy.max_attempts
        assert elapsed + wait <= policy.budget
        assert 0.0 <= wait <= max(policy.cap, retry_after or 0.0)
        assert retry_after is None or wait >= retry_after


# --- real transport failures on the loopback interface (shapes, not mocks) ------------------------


def _listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    return server


def test_real_connection_refused_is_retried_even_for_create() -> None:
    server = _listener()
    port = server.getsockname()[1]
    server.close()  # nothing listens on the port any more
    with pytest.raises(requests.RequestException) as info:
        requests.post(f"http://127.0.0.1:{port}/v2/cloudimages/action", data=b"{}", timeout=(1, 1))
    assert outcome(classify_exception(info.value), idempotent=False) is Outcome.RETRY


def test_real_read_timeout_is_ambiguous_for_create() -> None:
    with _listener() as server:
        port = server.getsockname()[1]
        with pytest.raises(requests.RequestException) as info:
            requests.post(f"http://127.0.0.1:{port}/v2/cloudimages/action", data=b"{}", timeout=(1, 0.2))
    assert outcome(classify_exception(info.value), idempotent=False) is Outcome.AMBIGUOUS
    assert outcome(classify_exception(info.value), idempotent=True) is Outcome.RETRY


def test_real_reset_after_sending_is_ambiguous_for_create() -> None:
    server = _listener()
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.close()  # answer nothing

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with pytest.raises(requests.RequestException) as info:
            requests.post(f"http://127.0.0.1:{port}/v2/cloudimages/action", data=b"{}", timeout=(1, 2))
    finally:
        thread.join()
        server.close()
    assert outcome(classify_exception(info.value), idempotent=False) is Outcome.AMBIGUOUS
