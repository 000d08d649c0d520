"""A stack's worth of images through the real dynamic provider host, in real time.

The Pulumi CLI is not needed: :class:`tests.engine.host.DynamicProviderHost` starts the same
``python -m pulumi.dynamic`` process the engine starts and sends it the engine's gRPC calls, every create at
once (the engine sends up to ``--parallel``). The host's own pool runs 4 calls at a time; the provider widens
it (:mod:`ims_provider.hostpool`), so the question is how close 16 and 64 creates come to one create alone,
whether another dynamic resource of the stack still answers while they wait, what ``ims:maxParallel: 4``
gives back, how much memory the host needs, and how many IMS requests one image costs over its life.
Every image is made from its own ECS: IMS runs one image job per ECS at a time.
"""

from __future__ import annotations

import math
import os
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
from ims_provider.hostpool import HOST_WORKERS, default_workers
from tests.engine.host import DynamicProviderHost
from tests.engine.other_provider import echo_blob

T = TypeVar("T")
CREATE_PATH = "/v2/cloudimages/action"
SAFETY = 600.0  # seconds to wait for the creates of a burst to reach IMS; never reached when all is well


@dataclass(frozen=True)
class Burst:
    """``images`` creates sent at once to a host that runs ``workers`` calls at a time."""

    images: int
    workers: int
    wall: float  # until the last create answered
    other_create: float  # a trivial dynamic resource's Create, sent once the image creates were running

    @property
    def waves(self) -> int:
        return math.ceil(self.images / self.workers)


@dataclass
class StackResult:
    job_seconds: float
    workers: int  # what the widened host runs at once (the default of ims:maxParallel here)
    single_create: float = 0.0  # wall time of one Create alone, in the same run
    bursts: dict[str, Burst] = field(default_factory=dict)  # "16", "64", "16 capped"
    read_wall: float = 0.0  # 16 reads at once
    delete_wall: float = 0.0  # 16 deletes at once
    peak_rss_mb: float = 0.0  # VmHWM of the widened host, after 64 creates at once
    sampled_rss_mb: float = 0.0  # highest VmRSS seen by a 0.2 s sampler
    capped_peak_rss_mb: float = 0.0  # VmHWM of the host with ims:maxParallel 4
    requests: dict[str, Counter[str]] = field(default_factory=dict)  # phase -> request kind -> count

    def ratio(self, burst: str) -> float:
        """Wall time of a burst as a multiple of one create alone."""
        return self.bursts[burst].wall / self.single_create

    def today(self, burst: str) -> float:
        """What the host's own 4 workers allow: ceil(n/4) waves, each as fast as one create alone."""
        return math.ceil(self.bursts[burst].images / HOST_WORKERS) * self.single_create

    def per_image(self, phase: str, images: int = 16) -> dict[str, float]:
        return {kind: n / images for kind, n in sorted(self.requests.get(phase, Counter()).items())}


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


class StackBench:
    """One host against one emulator: checks, bursts of creates, and the probe of another resource."""

    def __init__(self, host: DynamicProviderHost, admin: AdminClient, servers: Sequence[str]) -> None:
        self.host, self.admin, self.servers = host, admin, servers
        self._made = 0

    def programs(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        """``count`` checked resources, each imaging its own ECS."""
        programs = []
        for server in self.servers[:count]:
            self._made += 1
            name = f"bench-{self._made:03d}"
            programs.append(
                (name, self.host.checked(name, {"name": f"golden-{self._made:03d}", "instance_id": server}))
            )
        return programs

    def burst(self, programs: list[tuple[str, dict[str, Any]]], workers: int) -> tuple[Burst, list[Any]]:
        """Send every create at once; once as many as the host runs at once have reached IMS, time the Create
        of a trivial dynamic resource of another provider class in the same host."""
        self.admin.clear_requests()
        running = min(len(programs), workers)
        with ThreadPoolExecutor(max_workers=len(programs)) as pool:
            start = time.perf_counter()
            futures = [pool.submit(self.host.create, name, inputs) for name, inputs in programs]
            deadline = start + SAFETY
            while len(self.admin.requests(method="POST", path=CREATE_PATH)) < running:
                if time.perf_counter() > deadline or any(f.done() for f in futures):
                    break
                time.sleep(0.05)
            probe = time.perf_counter()
            self.host.create(f"other-{self._made:03d}", {"__provider": echo_blob(), "name": "other"})
            other = time.perf_counter() - probe
            results = [f.result() for f in futures]
            wall = time.perf_counter() - start
        return Burst(len(programs), workers, wall, other), results

    def delete_all(self, created: list[tuple[str, dict[str, Any], str, dict[str, Any]]]) -> float:
        wall, _ = _all_at_once([partial(self.host.delete, n, id_, st) for n, _, id_, st in created])
        left = [img["id"] for img in self.admin.state()["images"]]
        if left:
            raise RuntimeError(f"images left after the deletes: {left}")
        return wall


def _created(programs: list[tuple[str, dict[str, Any]]], results: list[Any]) -> list[Any]:
    return [(n, i, id_, state) for (n, i), (id_, state) in zip(programs, results, strict=True)]


def run_stack(job_seconds: float = 20.0, log: Callable[[str], None] = print) -> StackResult:
    result = StackResult(job_seconds=job_seconds, workers=default_workers(os.environ))
    with EmulatorServer(job_seconds=job_seconds, image_quota=1000) as emulator:
        admin = emulator.admin
        servers = [admin.add_server(status="SHUTOFF")["id"] for _ in range(64)]
        config = {
            "ims:endpoint": emulator.url,
            "ims:region": "cn-north-4",
            "ims:accessKey": emulator.access_key,
            "ims:secretKey": emulator.secret_key,
            "ims:progress": "false",
        }
        with DynamicProviderHost(config) as host, RssSampler(host.pid) as sampler:
            bench = StackBench(host, admin, servers)
            (name, inputs) = bench.programs(1)[0]
            start = time.perf_counter()
            id_, state = host.create(name, inputs)
            result.single_create = time.perf_counter() - start
            host.delete(name, id_, state)
            log(f"stack: one create alone took {result.single_create:.2f} s")

            programs = bench.programs(16)
            result.bursts["16"], results = bench.burst(programs, result.workers)
            result.requests["create"] = _requests_by_kind(admin)
            log(f"stack: 16 creates took {result.bursts['16'].wall:.2f} s")
            created = _created(programs, results)
            admin.clear_requests()
            result.read_wall, _ = _all_at_once(
                [partial(host.read, n, id_, st, i) for n, i, id_, st in created]
            )
            result.requests["read"] = _requests_by_kind(admin)
            admin.clear_requests()
            result.delete_wall = bench.delete_all(created)
            result.requests["delete"] = _requests_by_kind(admin)

            programs = bench.programs(64)
            result.bursts["64"], results = bench.burst(programs, result.workers)
            log(f"stack: 64 creates took {result.bursts['64'].wall:.2f} s")
            bench.delete_all(_created(programs, results))
            result.peak_rss_mb = _read_status_kb(host.pid, "VmHWM") / 1024
        result.sampled_rss_mb = sampler.peak_kb / 1024

        with DynamicProviderHost({**config, "ims:maxParallel": str(HOST_WORKERS)}) as capped:
            bench = StackBench(capped, admin, servers)
            programs = bench.programs(16)
            result.bursts["16 capped"], results = bench.burst(programs, HOST_WORKERS)
            log(f"stack: 16 creates with ims:maxParallel 4 took {result.bursts['16 capped'].wall:.2f} s")
            bench.delete_all(_created(programs, results))
            result.capped_peak_rss_mb = _read_status_kb(capped.pid, "VmHWM") / 1024
    return result
