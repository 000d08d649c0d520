"""Faults injected on demand: error statuses, dropped connections, latency, failing or hanging jobs.

A fault matches requests by method and a regular expression full-matched against the path. It fires for
the next `count` matches, or with a seeded `probability` (then `count`, if given, caps how often).
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ims_provider.emulator.jobs import JobFailure

KINDS = ("status", "drop_before", "drop_after", "latency", "job_fail", "job_hang")
REQUEST_KINDS = ("status", "drop_before", "drop_after")
JOB_KINDS = ("job_fail", "job_hang")
# Every path whose request starts a job: create, copy in region (and its v2.1 twin), copy across regions,
# add/accept-reject/remove members.
JOB_PATHS = (
    r"/v2(\.1)?/cloudimages/action"
    r"|/v(1|2\.1)/cloudimages/[^/]+/copy"
    r"|/v1/cloudimages/[^/]+/cross_region_copy"
    r"|/v1/cloudimages/members"
)

_DEFAULT_MESSAGES = {
    400: ("IMG.0060", "The number of jobs exceeds the flow control limit. Try again later."),
    401: ("APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail"),
    403: ("APIGW.0302", "The IAM user is not authorized to access the API"),
    404: ("APIGW.0101", "The API does not exist or has not been published in the environment"),
    429: (
        "APIGW.0308",
        "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second",
    ),
    500: ("IMG.0061", "Unknown system error."),
    # What the gateway says when IMS behind it does not answer (APIG's "Backend unavailable" / "Backend
    # timeout"); a 503 from a load balancer carries no body at all.
    502: ("APIG.0202", "Backend unavailable."),
    504: ("APIG.0203", "Backend timeout."),
    503: ("", ""),
}


@dataclass
class Fault:
    id: str
    kind: str
    method: str
    path: str
    remaining: int | None
    probability: float | None
    seed: int | None
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0
    error_code: str | None = None
    fail_reason: str | None = None
    sub_job: int = 0
    region: str | None = None  # only requests to this region's endpoint; None: every region
    hits: int = 0
    _pattern: re.Pattern[str] = field(default=re.compile(".*"), repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, path: str, region: str | None = None) -> bool:
        return (
            (self.method == "*" or self.method == method.upper())
            and (self.region is None or region is None or self.region == region)
            and bool(self._pattern.fullmatch(path))
        )

    def roll(self) -> bool:
        """Whether this matching request triggers the fault (always, unless a probability is set)."""
        return self.probability is None or self._rng.random() < self.probability

    def response_body(self, request_id: str) -> Any:
        """The body to answer with: the configured one, or a realistic default for the status (None: an
        empty body)."""
        if self.body is not None:
            return self.body
        code, message = _DEFAULT_MESSAGES.get(self.status, ("IMG.0061", "Injected fault."))
        if not (code or self.error_code):
            return None
        code = self.error_code or code
        message = self.fail_reason or message
        if code.startswith("APIG"):
            return {"error_code": code, "error_msg": message, "request_id": request_id}
        return {"error": {"code": code, "message": message}}

    def job_failure(self) -> JobFailure:
        return JobFailure(
            error_code=self.error_code or "IMG.0061",
            fail_reason=self.fail_reason or "Injected job failure.",
            sub_job=self.sub_job,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "count": self.remaining,
            "probability": self.probability,
            "seed": self.seed,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "latency": self.latency,
            "error_code": self.error_code,
            "fail_reason": self.fail_reason,
            "sub_job": self.sub_job,
            "region": self.region,
            "hits": self.hits,
        }


def _number(
    spec: Mapping[str, Any], key: str, default: float | None, low: float, high: float
) -> float | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{key} must be a number between {low} and {high}")
    return float(value)


def parse_fault(spec: Mapping[str, Any]) -> Fault:
    """Build a Fault from the admin API's JSON; ValueError describes what is wrong."""
    if not isinstance(spec, Mapping):
        raise ValueError("a fault must be a JSON object")
    allowed = {
        "kind", "method", "path", "count", "probability", "seed", "status", "body", "headers",
        "latency", "error_code", "fail_reason", "sub_job", "region",
    }  # fmt: skip
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"unknown fault field {unknown[0]!r}")
    kind = spec.get("kind", "status")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    job_kind = kind in JOB_KINDS
    method = str(spec.get("method", "*")).upper()
    path = spec.get("path", JOB_PATHS if job_kind else ".*")
    if not isinstance(path, str):
        raise ValueError("path must be a regular expression string")
    try:
        pattern = re.compile(path)
    except re.error as exc:
        raise ValueError(f"path is not a valid regular expression: {exc}") from None
    probability = _number(spec, "probability", None, 0.0, 1.0)
    count_default = None if probability is not None else 1
    count = spec.get("count", count_default)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or null (unlimited)")
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError("seed must be an integer")
    status = spec.get("status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("status must be an HTTP status code")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("headers must be an object of strings")
    for key in ("error_code", "fail_reason"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValueError(f"{key} must be a string")
    sub_job = spec.get("sub_job", 0)
    if isinstance(sub_job, bool) or not isinstance(sub_job, int):
        raise ValueError("sub_job must be an integer index")
    latency = _number(spec, "latency", 0.0, 0.0, 600.0) or 0.0
    region = spec.get("region")
    if region is not None and (not isinstance(region, str) or not region):
        raise ValueError("region must be a region id")
    return Fault(
        id=uuid.uuid4().hex[:12],
        kind=kind,
        method=method,
        path=path,
        remaining=count,
        probability=probability,
        seed=seed,
        status=status,
        body=spec.get("body"),
        headers=dict(headers),
        latency=latency,
        error_code=spec.get("error_code"),
        fail_reason=spec.get("fail_reason"),
        sub_job=sub_job,
        region=region,
        _pattern=pattern,
        _rng=random.Random(seed),
    )


@dataclass(frozen=True)
class RequestFaults:
    """What the faults say about one request: added latency and at most one action."""

    latency: float = 0.0
    action: Fault | None = None


class FaultRegistry:
    """Thread-safe ordered set of active faults; firing consumes counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = parse_fault(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fire(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)

    def for_request(self, method: str, path: str, region: str | None = None) -> RequestFaults:
        """Latency of every matching latency fault, plus the first matching status/drop fault."""
        latency = 0.0
        action: Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if fault.kind == "latency" and fault.matches(method, path, region) and fault.roll():
                    latency += fault.latency
                    self._fire(fault)
                elif (
                    action is None
                    and fault.kind in REQUEST_KINDS
                    and fault.matches(method, path, region)
                    and fault.roll()
                ):
                    action = fault
                    self._fire(fault)
        return RequestFaults(latency=latency, action=action)

    def take_job_fault(self, method: str, path: str, region: str | None = None) -> Fault | None:
        """The job_fail / job_hang fault for a job being created by this request, if any."""
        with self._lock:
            for fault in list(self._faults):
                if fault.kind in JOB_KINDS and fault.matches(method, path, region) and fault.roll():
                    self._fire(fault)
                    return fault
        return None
