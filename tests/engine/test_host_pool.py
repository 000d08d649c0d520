"""The dynamic provider host runs more than 4 operations at once, and keeps its 4 when it is not as expected.

The emulator's clock is frozen while the creates are sent, so no job can end: every create that reached IMS
is still waiting, and how many jobs the emulator shows running together is how many creates the host runs
at once. A host with 4 workers cannot send a fifth create before the clock moves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.server import EmulatorServer
from ims_provider.hostpool import HOST_WORKERS
from ims_provider.recovery import CLAIM_ATTRIBUTE
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost
from tests.engine.other_provider import echo_blob
from tests.engine.support import CREATE_PATH, images

SAFETY = 60.0  # seconds to wait for something that must happen; never reached when the code is right
MISMATCH = "is not the one this provider knows"
SECOND_SERVER = """
import grpc
from concurrent import futures

# Another library's gRPC server in the host process: the provider must not guess which one is the host's.
EXTRA_SERVER = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = SAFETY) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def running_jobs(emu: EmulatorServer) -> int:
    return sum(1 for job in emu.admin.state()["jobs"] if job["status"] in ("INIT", "RUNNING"))


def answered_posts(emu: EmulatorServer) -> int:
    return sum(1 for r in emu.admin.requests(method="POST", path=CREATE_PATH) if r["status"] == 200)


def programs(
    host: DynamicProviderHost, emu: EmulatorServer, count: int, prefix: str
) -> list[tuple[str, Any]]:
    """``count`` resources, each imaging its own stopped ECS (IMS runs one image job per ECS at a time)."""
    servers = [emu.admin.add_server(status="SHUTOFF")["id"] for _ in range(count)]
    names = [f"{prefix}-{i:02d}" for i in range(count)]
    return [(n, host.checked(n, {"name": n, "instance_id": s})) for n, s in zip(names, servers, strict=True)]


@contextmanager
def frozen_creates(
    host: DynamicProviderHost, emu: EmulatorServer, resources: list[tuple[str, Any]]
) -> Iterator[list[Future[tuple[str, dict[str, Any]]]]]:
    """Send every create at once with the emulator's clock frozen; on the way out, let the jobs end."""
    emu.admin.set_clock("manual")
    pool = ThreadPoolExecutor(max_workers=len(resources))
    try:
        yield [pool.submit(host.create, name, inputs) for name, inputs in resources]
    finally:
        emu.admin.advance(3600)  # every job ends; the waits see it at their next poll
        emu.admin.set_clock("real")  # and creates a 4-worker host sends only now run as usual
        pool.shutdown(wait=True)


def assert_made_once_and_tracked(
    emu: EmulatorServer, resources: list[tuple[str, Any]], results: list[tuple[str, dict[str, Any]]]
) -> None:
    made = images(emu)
    ids = [id_ for id_, _ in results]
    assert len(set(ids)) == len(resources) and set(ids) == set(made)
    assert [made[id_]["name"] for id_ in ids] == [name for name, _ in resources]
    assert all(made[id_].get(CLAIM_ATTRIBUTE) == id_ for id_ in ids)  # each marked as its resource's
    assert all(state["status"] == "active" for _, state in results)
    assert answered_posts(emu) == len(resources)  # one request per image: none sent twice


def test_eight_creates_run_together_and_other_resources_still_answer(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    resources = programs(host, emu, 8, "wide")
    with frozen_creates(host, emu, resources) as creates:
        wait_for(lambda: answered_posts(emu) == 8, "all 8 creates to reach IMS")
        assert running_jobs(emu) == 8
        # A dynamic resource of another provider class answers while the 8 wait.
        echo = ThreadPoolExecutor(max_workers=1).submit(
            host.create, "echo", {"__provider": echo_blob(), "name": "e"}
        )
        assert echo.result(timeout=SAFETY)[0] == "echo-e"
        assert not any(c.done() for c in creates)
    assert_made_once_and_tracked(emu, resources, [c.result() for c in creates])


def test_sixty_four_creates_at_once(fast_host: DynamicProviderHost, emu: EmulatorServer) -> None:
    """64 creates share the client, the recovery locks and stderr: every image is made once and tracked, and
    no two progress lines run into each other."""
    seen = len(fast_host.lines)
    resources = programs(fast_host, emu, 64, "many")
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda r: fast_host.create(*r), resources))
    assert_made_once_and_tracked(emu, resources, results)
    lines = fast_host.lines[seen:]
    assert [line for line in lines if line.count("ims: ") > 1] == []
    assert sum(1 for line in lines if line.startswith("ims: many-") and " active after " in line) == 64


def test_an_unexpected_host_keeps_four_workers(
    emulator: EmulatorServer, emu: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "sitecustomize.py").write_text(SECOND_SERVER, encoding="utf-8")
    env = {"PYTHONPATH": f"{tmp_path}:{Path(__file__).resolve().parents[2]}"}
    with DynamicProviderHost(stack_config(emulator.url), env=env) as odd:
        resources = programs(odd, emu, 6, "odd")
        with frozen_creates(odd, emu, resources) as creates:
            wait_for(lambda: answered_posts(emu) >= HOST_WORKERS, "the first 4 creates to reach IMS")
            # A widened host would send the other 2 at once; give it every chance to.
            time.sleep(2.0)
            assert answered_posts(emu) == HOST_WORKERS and running_jobs(emu) == HOST_WORKERS
        assert_made_once_and_tracked(emu, resources, [c.result() for c in creates])
        notes = [line for line in odd.lines if MISMATCH in line]
    assert len(notes) == 1, odd.lines
    assert "2 gRPC servers run in the process" in notes[0]


def test_the_client_keeps_a_connection_for_every_host_worker(
    emu: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """64 requests in flight at once (each answered after 1 s): every connection goes back to the pool, none
    is thrown away (urllib3 would log it, and the next request would open a new connection)."""
    emu.admin.add_fault(kind="latency", latency=1.0, method="GET", path="/v2/cloudimages", count=64)
    client = ImsClient(load_config(stack_config(emu.url, **{"ims:maxParallel": "64"}).get, {}))
    with caplog.at_level(logging.WARNING, logger="urllib3"), ThreadPoolExecutor(max_workers=64) as pool:
        listed = list(pool.map(lambda _: client.list_images(), range(64)))
    client.close()
    assert listed == [[]] * 64
    assert len(emu.admin.requests(method="GET", path="/v2/cloudimages")) == 64
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
