"""More workers for the Python dynamic provider host, so that a stack's image waits run side by side.

``python -m pulumi.dynamic`` serves every dynamic resource of a stack from one gRPC server whose thread pool
has 4 workers (``pulumi/dynamic/__main__.py``, unchanged since 2019), and a create holds its worker for the
whole image job: a fifth create, and every other dynamic resource of the stack, waits until one of the first
four ends. The provider runs inside that process, so ``configure()`` gives the server a wider pool: grpc
hands each call to ``server._state.thread_pool``, which it reads under ``server._state.lock``, so the pool is
replaced under that lock and the old one is shut down once the calls it holds are done. A thread pool makes
a thread only when a call arrives and every thread it has is busy, so a high ceiling costs nothing until the
engine sends that many calls; a waiting create is a sleeping thread (tens of kB), not a process.

The pool is replaced rather than widened in place (``_max_workers``) because CPython's pool counts a worker
as idle each time it finishes a call, even when it picks up a queued one straight away: after a burst of
queued calls (the engine's Checks, before the first ``configure()``) that count is inflated, and while the
surplus lasts a widened pool starts no new thread.

This happens only when the host is exactly the one described above; otherwise nothing changes, and one line
on stderr says why. ``ims:maxParallel: 4`` leaves the host alone.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType, ModuleType
from typing import Any

from ims_provider.console import write_line

__all__ = [
    "DEFAULT_FLOOR",
    "HOST_MODULE",
    "HOST_WORKERS",
    "MAX_WORKERS",
    "HostMismatchError",
    "HostPool",
    "HostWidener",
    "default_workers",
    "find_host_server",
    "widen_host",
]

HOST_MODULE = "pulumi.dynamic.__main__"  # what ``python -m pulumi.dynamic`` runs as __main__
HOST_WORKERS = 4  # its grpc.server(futures.ThreadPoolExecutor(max_workers=4))
# The engine runs --parallel operations at once: by default 4 x the CPU count (runtime.GOMAXPROCS), or
# PULUMI_PARALLEL. The --parallel flag itself does not reach the host, so the default ceiling is generous:
# threads are made only on demand, so an unused one costs nothing.
DEFAULT_FLOOR = 256
MAX_WORKERS = 1024  # the most ims:maxParallel may ask for
THREAD_PREFIX = "ims-host-worker"


def default_workers(environ: Mapping[str, str], cpus: int | None = None) -> int:
    """The host workers asked for when ``ims:maxParallel`` is not set: never fewer than the engine's own
    default parallelism (4 x CPUs, or ``PULUMI_PARALLEL``); at least DEFAULT_FLOOR, at most MAX_WORKERS."""
    count = os.cpu_count() if cpus is None else cpus
    engine = 4 * (count or 1)
    raw = environ.get("PULUMI_PARALLEL", "").strip()
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 10**6:
        engine = int(raw)
    return min(max(DEFAULT_FLOOR, engine), MAX_WORKERS)


class HostMismatchError(Exception):
    """The process is not the dynamic provider host this module knows; the message says what differs."""


@dataclass(frozen=True)
class HostServer:
    """The host's gRPC server state (``grpc._server._ServerState``) and the pool it hands calls to."""

    state: Any
    pool: ThreadPoolExecutor


@dataclass(frozen=True)
class HostPool:
    """What the host runs at once after :meth:`HostWidener.widen`, and why it was not widened (if not)."""

    workers: int
    widened: bool
    reason: str | None = None


def _main_frames(main: ModuleType) -> list[FrameType]:
    """Frames, in any thread, of a function named ``main`` defined in the module ``main``."""
    found = []
    for frame in sys._current_frames().values():
        current: FrameType | None = frame
        while current is not None:
            if current.f_code.co_name == "main" and current.f_globals is vars(main):
                found.append(current)
            current = current.f_back
    return found


def _grpc_servers(server_type: type) -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is server_type)


def find_host_server(main: ModuleType | None = None) -> HostServer:
    """The host's gRPC server, checked to be exactly the one ``pulumi/dynamic/__main__.py`` builds.

    ``main`` is the running ``__main__`` module (tests pass a stand-in). Raises :class:`HostMismatchError`.
    """
    main = sys.modules.get("__main__") if main is None else main
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if main is None or name != HOST_MODULE:
        raise HostMismatchError(f"the program is {name or 'a script'}, not {HOST_MODULE}")
    frames = _main_frames(main)
    if len(frames) != 1:
        raise HostMismatchError(f"{len(frames)} calls of {HOST_MODULE}.main() are running, not 1")
    server = frames[0].f_locals.get("server")
    try:
        from grpc import _server as grpc_server
    except ImportError as exc:
        raise HostMismatchError(f"grpc's sync server cannot be imported ({exc})") from None
    server_type = getattr(grpc_server, "_Server", None)
    state_type = getattr(grpc_server, "_ServerState", None)
    if server_type is None or type(server) is not server_type:
        raise HostMismatchError(f"main()'s server is a {type(server).__name__}, not grpc's sync server")
    state = getattr(server, "_state", None)
    if state_type is None or type(state) is not state_type:
        raise HostMismatchError("grpc's server keeps its state in another form")
    pool = getattr(state, "thread_pool", None)
    if type(pool) is not ThreadPoolExecutor:
        raise HostMismatchError(f"the server's pool is a {type(pool).__name__}, not a ThreadPoolExecutor")
    workers = getattr(pool, "_max_workers", None)
    if workers != HOST_WORKERS:
        raise HostMismatchError(f"the server's pool has {workers} workers, not {HOST_WORKERS}")
    if getattr(state, "maximum_concurrent_rpcs", 0) is not None:
        raise HostMismatchError("the server limits concurrent calls itself")
    lock = getattr(state, "lock", None)
    if not (callable(getattr(lock, "__enter__", None)) and callable(getattr(lock, "__exit__", None))):
        raise HostMismatchError("the server's state has no lock")
    servers = _grpc_servers(server_type)
    if servers != 1:
        raise HostMismatchError(f"{servers} gRPC servers run in the process, not 1")
    return HostServer(state, pool)


class HostWidener:
    """Widens the host once per process: later calls return the first outcome and write nothing."""

    def __init__(self, *, write: Callable[[str], None] = write_line) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._outcome: HostPool | None = None

    @property
    def outcome(self) -> HostPool | None:
        return self._outcome

    def widen(self, workers: int, *, main: ModuleType | None = None) -> HostPool:
        """Give the host ``workers`` threads; ``workers <= 4`` leaves it alone."""
        with self._lock:
            if self._outcome is None:
                self._outcome = self._widen(workers, main)
            return self._outcome

    def _widen(self, workers: int, main: ModuleType | None) -> HostPool:
        if workers <= HOST_WORKERS:
            return HostPool(HOST_WORKERS, False, "ims:maxParallel asks for no more than the host's own")
        if _under_mocks():
            return HostPool(HOST_WORKERS, False, "no host: the provider runs under pulumi's mock runtime")
        try:
            host = find_host_server(main)
        except HostMismatchError as exc:
            return self._decline(str(exc))
        except Exception as exc:  # anything unexpected in someone else's process: change nothing
            return self._decline(f"{type(exc).__name__} while looking at it")
        wider = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=THREAD_PREFIX)
        with host.state.lock:
            if host.state.thread_pool is not host.pool:  # replaced since it was checked
                wider.shutdown(wait=False)
                return self._decline("its pool was replaced by someone else meanwhile")
            host.state.thread_pool = wider
        host.pool.shutdown(wait=False)  # its threads end once the calls already handed to it are done
        return HostPool(workers, True)

    def _decline(self, reason: str) -> HostPool:
        self._write(
            f"ims: the Pulumi dynamic provider host is not the one this provider knows ({reason}), so it "
            f"keeps its {HOST_WORKERS} workers: at most {HOST_WORKERS} operations of this stack's dynamic "
            "resources run at once"
        )
        return HostPool(HOST_WORKERS, False, reason)


_WIDENER = HostWidener()


def _under_mocks() -> bool:
    """The provider called in a program's own process under ``pulumi.runtime.set_mocks`` (unit tests,
    ``ims-provider try``): there is no provider host to widen, and nothing to say about it."""
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return isinstance(get_monitor(), MockMonitor)


def widen_host(workers: int) -> HostPool:
    """Widen this process's dynamic provider host to ``workers`` threads, once (see :class:`HostWidener`)."""
    return _WIDENER.widen(workers)
