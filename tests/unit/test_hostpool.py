"""Widening a stand-in host: a module named like ``pulumi.dynamic.__main__`` whose ``main()`` runs a real gRPC
server in a thread, built like the real one (tests/engine/test_host_pool.py runs the real host)."""

from __future__ import annotations

import gc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from ims_provider.hostpool import (
    DEFAULT_FLOOR,
    HOST_MODULE,
    HOST_WORKERS,
    MAX_WORKERS,
    HostWidener,
    default_workers,
    find_host_server,
)

HOST_MAIN = """
def main(started, stop, make_pool, limit):
    server = grpc.server(make_pool(), maximum_concurrent_rpcs=limit)
    server.add_generic_rpc_handlers((HANDLER,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    started.put(port)
    stop.wait()
    server.stop(0)
"""


class _Port:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.value = 0

    def put(self, port: int) -> None:
        self.value = port
        self.ready.set()


@dataclass
class StandIn:
    module: types.ModuleType
    port: int
    barrier: threading.Barrier

    def pool(self) -> Any:
        return find_host_server(self.module).pool

    def calls_at_once(self, count: int) -> list[bytes]:
        """``count`` calls that each wait for all the others inside the server (the barrier has ``count``
        parties): they all return only if the server runs them at the same time."""
        with (
            grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel,
            ThreadPoolExecutor(max_workers=count) as pool,
        ):
            call = channel.unary_unary("/test.Host/Meet")
            return list(pool.map(lambda _: call(b"", timeout=30), range(count)))


@contextmanager
def stand_in(
    *,
    name: str = HOST_MODULE,
    make_pool: Callable[[], ThreadPoolExecutor] = lambda: ThreadPoolExecutor(max_workers=4),
    limit: int | None = None,
    parties: int = 8,
    meet_within: float = 10.0,
) -> Iterator[StandIn]:
    barrier = threading.Barrier(parties, timeout=meet_within)

    def meet(_request: bytes, _context: Any) -> bytes:
        barrier.wait()
        return b"met"

    module = types.ModuleType("__main__")
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.grpc = grpc  # type: ignore[attr-defined]
    module.HANDLER = grpc.method_handlers_generic_handler(  # type: ignore[attr-defined]
        "test.Host", {"Meet": grpc.unary_unary_rpc_method_handler(meet)}
    )
    exec(compile(HOST_MAIN, "<stand-in host>", "exec"), vars(module))  # noqa: S102 - a fixed test text
    started, stop = _Port(), threading.Event()
    thread = threading.Thread(target=module.main, args=(started, stop, make_pool, limit), daemon=True)
    thread.start()
    assert started.ready.wait(10)
    try:
        yield StandIn(module, started.value, barrier)
    finally:
        stop.set()
        thread.join(10)
        gc.collect()


def widener() -> tuple[HostWidener, list[str]]:
    lines: list[str] = []
    return HostWidener(write=lines.append), lines


def test_widens_the_host_so_more_than_four_calls_run_at_once() -> None:
    with stand_in(parties=8) as host:
        old = host.pool()
        widen, lines = widener()
        outcome = widen.widen(16, main=host.module)
        assert (outcome.workers, outcome.widened, lines) == (16, True, [])
        with pytest.raises(RuntimeError):  # the old pool takes no more calls: its threads end
            old.submit(print)
        assert host.calls_at_once(8) == [b"met"] * 8


def test_an_unwidened_host_runs_four_calls_at_once() -> None:
    """The stand-in is faithful: with its 4 workers, 5 calls that wait for each other cannot all meet."""
    with stand_in(parties=5, meet_within=1.0) as host, pytest.raises(grpc.RpcError):
        host.calls_at_once(5)


def test_widens_once_and_stays_silent_afterwards() -> None:
    with stand_in() as host:
        widen, lines = widener()
        first = widen.widen(16, main=host.module)
        assert widen.widen(64, main=host.module) is first
        assert widen.outcome is first and lines == []
        # Another copy of this code (a second provider library doing the same) finds 16 and declines.
        other, other_lines = widener()
        assert other.widen(64, main=host.module).reason == "the server's pool has 16 workers, not 4"
        assert len(other_lines) == 1


def test_four_or_fewer_leaves_the_host_alone_without_a_word() -> None:
    with stand_in() as host:
        pool = host.pool()
        widen, lines = widener()
        outcome = widen.widen(HOST_WORKERS, main=host.module)
        assert (outcome.workers, outcome.widened, lines) == (HOST_WORKERS, False, [])
        assert host.pool() is pool


class CustomPool(ThreadPoolExecutor):
    pass


@pytest.mark.parametrize(
    ("shape", "reason"),
    [
        ({"name": "myprogram"}, "the program is myprogram, not pulumi.dynamic.__main__"),
        ({"make_pool": lambda: ThreadPoolExecutor(max_workers=8)}, "the server's pool has 8 workers, not 4"),
        ({"make_pool": lambda: CustomPool(max_workers=4)}, "the server's pool is a CustomPool"),
        ({"limit": 100}, "the server limits concurrent calls itself"),
    ],
)
def test_any_other_host_is_left_alone_with_one_line(shape: dict[str, Any], reason: str) -> None:
    with stand_in(**shape) as host:
        before = find_host_server_pool(host)
        widen, lines = widener()
        outcome = widen.widen(64, main=host.module)
        widen.widen(64, main=host.module)
        assert (outcome.workers, outcome.widened) == (HOST_WORKERS, False)
        assert outcome.reason is not None and outcome.reason.startswith(reason)
        assert len(lines) == 1 and reason in lines[0] and "keeps its 4 workers" in lines[0]
        assert find_host_server_pool(host) is before


def find_host_server_pool(host: StandIn) -> Any:
    """The stand-in server's pool, looked up without the checks (they are what is under test)."""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_name == "main" and frame.f_globals is vars(host.module):
                return frame.f_locals["server"]._state.thread_pool
            frame = frame.f_back  # type: ignore[assignment]
    raise AssertionError("the stand-in's main() is not running")


def test_a_second_grpc_server_in_the_process_is_not_guessed_at() -> None:
    other = grpc.server(ThreadPoolExecutor(max_workers=1))
    with stand_in() as host:
        widen, lines = widener()
        outcome = widen.widen(64, main=host.module)
        assert outcome.reason == "2 gRPC servers run in the process, not 1"
        assert len(lines) == 1
    del other


def test_a_host_whose_main_is_not_running_is_left_alone() -> None:
    module = types.ModuleType("__main__")
    module.__spec__ = importlib.machinery.ModuleSpec(HOST_MODULE, None)
    widen, lines = widener()
    outcome = widen.widen(64, main=module)
    assert outcome.reason == "0 calls of pulumi.dynamic.__main__.main() are running, not 1"
    assert len(lines) == 1


def test_under_pytest_the_host_is_not_found() -> None:
    widen, lines = widener()
    assert widen.widen(64).reason is not None
    assert len(lines) == 1


@pytest.mark.parametrize(
    ("env", "cpus", "expected"),
    [
        ({}, 2, DEFAULT_FLOOR),
        ({}, 128, 512),  # the engine's default on a 128-CPU machine: 4 x CPUs
        ({"PULUMI_PARALLEL": "600"}, 2, 600),
        ({"PULUMI_PARALLEL": "16"}, 2, DEFAULT_FLOOR),
        ({"PULUMI_PARALLEL": "0"}, 2, DEFAULT_FLOOR),  # 0: unlimited in the engine; the floor holds
        ({"PULUMI_PARALLEL": "lots"}, 2, DEFAULT_FLOOR),
        ({"PULUMI_PARALLEL": "100000"}, 2, MAX_WORKERS),
        ({}, 1024, MAX_WORKERS),
    ],
)
def test_default_workers_never_below_the_engines_own(env: dict[str, str], cpus: int, expected: int) -> None:
    assert default_workers(env, cpus) == expected
