"""A stack's worth of images through the real dynamic provider host, in real time.

The Pulumi CLI is not needed: :class:`tests.engine.host.DynamicProviderHost` starts the same
``python -m pulumi.dynamic`` process the engine starts and sends it the engine's gRPC calls. The host serves
them with 4 worker threads, so 16 creates of 20-second jobs cannot finish faster than 4 waves of one
create; the question is how close to that the provider gets, how much memory the host needs, and how many
IMS requests one image costs over its life.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator.admin import AdminClient
from tests.engine.host import DynamicProviderHost

from .virtual import ECS_ID

HOST_WORKERS = 4  # pulumi.dynamic serves gRPC with ThreadPoolExecutor(max_workers=4)
T = TypeVar("T")


@dataclass
class StackResult:
    images: int
    job_seconds: float
    workers: int = HOST_WORKERS
    single_create: float = 0.0  # wall time of one Create alone, in the same run
    create_wall: float = 0.0  # all creates, fired at once
    read_wall: float = 0.0
    delete_wall: float = 0.0
    peak_rss_mb: float = 0.0  # VmHWM of the host process
    sampled_rss_mb: float = 0.0  # highest VmRSS seen by a 0.2 s sampler
    requests: dict[str, Counter[str]] = field(default_factory=dict)  # phase -> request kind -> count

    @property
    def waves(self) -> int:
        return math.ceil(self.images / self.workers)

    @property
    def bound(self) -> float:
        """The best possible with the host's workers: every wave as fast as one create alone."""
        return self.waves * self.single_create

    @property
    def floor(self) -> float:
        """The jobs alone, with no provider overhead at all."""
        return self.waves * self.job_seconds

    def per_image(self, phase: str) -> dict[str, float]:
        return {kind: n / self.images for kind, n in sorted(self.requests.get(phase, Counter()).items())}


def request_kind(method: str, path: str) -> str:
    """Group the emulator's request log by what the call is for."""
    if method == "POST" and path.endswith("/cloudimages/action"):
        return "create"
    if "/job" in path:
        return "job poll"
    if path.endswith("/tags/action"):
        return "tag write"
    if path.endswith("/tags"):
        return "tag read"
    if method == "GET" and (path == "/v2/cloudimages" or path.startswith("/v2/images/")):
        return "image read"
    if method == "DELETE":
        return "delete"
    if method == "PATCH":
        return "update"
    if path.startswith("/v3/"):
        return "iam"
    return f"{method} {path}"


def _requests_by_kind(admin: AdminClient) -> Counter[str]:
    return Counter(request_kind(r["method"], r["path"]) for r in admin.requests())


def _read_status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples a process's resident set every ``period`` seconds in a daemon thread; keeps the highest."""

    def __init__(self, pid: int, period: float = 0.2) -> None:
        self.pid, self.period, self.peak_kb = pid, period, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _read_status_kb(self.pid, "VmRSS"))
            self._stop.wait(self.period)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _all_at_once(calls: Sequence[Callable[[], T]]) -> tuple[float, list[T]]:
    """Run every call in its own client thread at the same moment (as the engine does); wall time, results."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        results = [f.result() for f in futures]
    return time.perf_counter() - start, results


def run_stack(images: int = 16, job_seconds: float = 20.0, log: Callable[[str], None] = print) -> StackResult:
    result = StackResult(images=images, job_seconds=job_seconds)
    with EmulatorServer(job_seconds=job_seconds) as emulator:
        config = {
            "ims:endpoint": emulator.url,
            "ims:region": "cn-north-4",
            "ims:accessKey": emulator.access_key,
            "ims:secretKey": emulator.secret_key,
            "ims:progress": "false",
        }
        admin = emulator.admin
        with DynamicProviderHost(config) as host, RssSampler(host.pid) as sampler:

            def program(i: int) -> tuple[str, dict[str, Any]]:
                name = f"bench-{i:02d}"
                return name, host.checked(name, {"name": f"golden-{i:02d}", "instance_id": ECS_ID})

            name, inputs = program(0)
            start = time.perf_counter()
            id_, state = host.create(name, inputs)
            result.single_create = time.perf_counter() - start
            host.delete(name, id_, state)
            log(f"stack: one create alone took {result.single_create:.2f} s")

            programs = [program(i) for i in range(1, images + 1)]
            admin.clear_requests()
            result.create_wall, ids = _all_at_once([partial(host.create, n, i) for n, i in programs])
            result.requests["create"] = _requests_by_kind(admin)
            log(f"stack: {images} creates took {result.create_wall:.2f} s")
            created = [(n, i, id_, state) for (n, i), (id_, state) in zip(programs, ids, strict=True)]

            admin.clear_requests()
            result.read_wall, _ = _all_at_once(
                [partial(host.read, n, id_, st, i) for n, i, id_, st in created]
            )
            result.requests["read"] = _requests_by_kind(admin)

            admin.clear_requests()
            result.delete_wall, _ = _all_at_once(
                [partial(host.delete, n, id_, st) for n, _, id_, st in created]
            )
            result.requests["delete"] = _requests_by_kind(admin)
            left = [img["id"] for img in admin.state()["images"]]
            if left:
                raise RuntimeError(f"images left after the deletes: {left}")

            result.peak_rss_mb = _read_status_kb(host.pid, "VmHWM") / 1024
        result.sampled_rss_mb = sampler.peak_kb / 1024
    return result
