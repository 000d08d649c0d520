"""Run an example's ``__main__.py`` in-process under ``pulumi.runtime.set_mocks``.

Dynamic resources (PrivateImage) are not mocked: the mock does what the Python dynamic host does, i.e.
unpickles the ``__provider`` blob, configures it with the stack config, and calls ``check`` then ``create``,
so every image is made for real by the emulator. Other resource types go to per-type handlers (the
pulumi-huaweicloud ECS handler turns each ECS into an emulator server). Stack outputs are read from the
root ``Stack`` resource that ``pulumi.export`` writes to, and awaited on the run's own event loop.
"""

from __future__ import annotations

import asyncio
import base64
import os
import runpy
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dill
import pulumi
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"

ResourceHandler = Callable[[MockResourceArgs], tuple[str, dict[str, Any]]]


def project_name(example: str) -> str:
    """The ``name:`` of an example's Pulumi.yaml (the namespace of its ``pulumi.Config()``)."""
    for line in (EXAMPLES_DIR / example / "Pulumi.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("name:"):
            return line.partition(":")[2].strip()
    raise AssertionError(f"examples/{example}/Pulumi.yaml has no name")


class CheckFailedError(Exception):
    """The provider's ``check`` refused a resource's inputs (the engine would stop the deployment)."""


@dataclass
class Registered:
    """One resource the program registered, with what the mock answered."""

    typ: str
    name: str
    inputs: dict[str, Any]
    id: str
    outputs: dict[str, Any]


@dataclass
class ExampleMocks(pulumi.runtime.Mocks):
    """Mocks that run the real PrivateImage provider and hand other types to ``handlers``."""

    stack_config: Mapping[str, str]
    project: str
    handlers: Mapping[str, ResourceHandler] = field(default_factory=dict)
    call_dynamic: bool = True
    resources: list[Registered] = field(default_factory=list, init=False)
    check_failures: list[tuple[str, str, str]] = field(default_factory=list, init=False)
    _lock: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _in_flight: int = field(default=0, init=False, repr=False)

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        with self._lock:
            self._in_flight += 1
        try:
            if args.typ.startswith(DYNAMIC_TYPE_PREFIX):
                resource_id, outputs = self._dynamic(args)
            elif args.typ.startswith(PROVIDER_TYPE_PREFIX):
                resource_id, outputs = f"{args.name}-provider", dict(args.inputs)
            elif args.typ in self.handlers:
                resource_id, outputs = self.handlers[args.typ](args)
            else:
                raise AssertionError(f"no mock for resource type {args.typ} ({args.name})")
            with self._lock:
                self.resources.append(
                    Registered(args.typ, args.name, dict(args.inputs), resource_id, outputs)
                )
            return resource_id, outputs
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for registrations still running in executor threads (a failed program does not wait for
        its other resources), so nothing of this run reaches the emulator after the test."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._in_flight == 0, timeout):
                raise AssertionError(f"{self._in_flight} resource registration(s) still running")

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"an example made an unexpected invoke: {args.token}")

    def _dynamic(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        blob = inputs.pop("__provider")
        if not self.call_dynamic:
            return f"{args.name}-id", inputs
        provider = dill.loads(base64.b64decode(blob))  # noqa: S301 - the blob this very program just made
        provider.configure(ConfigureRequest(Config(dict(self.stack_config), self.project)))
        checked = provider.check({}, inputs)
        if checked.failures:
            failures = [(args.name, f.property, f.reason) for f in checked.failures]
            with self._lock:
                self.check_failures += failures
            raise CheckFailedError("; ".join(f"{name}: {prop}: {reason}" for name, prop, reason in failures))
        created = provider.create(checked.inputs)
        return created.id, {**checked.inputs, **(created.outs or {})}

    def of_type(self, typ_prefix: str) -> dict[str, Registered]:
        """Registered resources whose type starts with ``typ_prefix``, by resource name."""
        return {r.name: r for r in self.resources if r.typ.startswith(typ_prefix)}


LOOP_ERRORS: deque[str] = deque(maxlen=100)  # for debugging a failed run


def _note_loop_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Keep only the message (no exception object, so no frames are kept alive)."""
    LOOP_ERRORS.append(str(context.get("message")))


@contextmanager
def _private_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh loop, current for one program run and closed after it. Afterwards no loop is current, so a
    later caller never gets this closed one; whoever needs a loop makes its own (pulumi's ``_sync_await``
    does, and so does the mocks fixture of the unit tests). Asking for "the current loop" here instead would
    make one where there is none (deprecated since Python 3.12, an error from 3.14) and leak it."""
    loop = asyncio.new_event_loop()
    # A failed program leaves futures whose exception nobody retrieves; they report it from __del__, often
    # during a later GC pass. The default handler formats the traceback there, and on CPython 3.11 that
    # ast.parse inside another ast.parse (pytest's assertion rewriter) fails with "SystemError: AST
    # constructor recursion depth mismatch". The run's own exception is raised by run_example anyway.
    loop.set_exception_handler(_note_loop_error)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        # A failed program leaves registrations pending: let them end (or cancel them) before closing.
        pending = asyncio.all_tasks(loop)
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=5))
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def run_example(
    example: str, mocks: ExampleMocks, config: Mapping[str, str], *, stack: str = "test"
) -> dict[str, Any]:
    """Run ``examples/<example>/__main__.py`` with ``config`` as the stack config; return the resolved
    stack outputs (exceptions of the program or of a mock propagate)."""
    directory = EXAMPLES_DIR / example
    project = project_name(example)
    cwd = os.getcwd()
    with _private_event_loop():
        try:
            os.chdir(directory)
            reset_options(project=project, stack=stack, preview=False)  # also forgets the old root stack
            pulumi.runtime.set_all_config(dict(config))
            pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
            root = get_root_resource()
            assert isinstance(root, Stack)  # pulumi.export writes to root.outputs
            program = str(directory / "__main__.py")

            def program_run() -> None:
                runpy.run_path(program, run_name="__main__")

            _sync_await(run_pulumi_func(program_run))
            resolved = _sync_await(pulumi.Output.from_input(root.outputs).future())
            assert isinstance(resolved, dict)
            return resolved
        finally:
            mocks.wait_idle()
            os.chdir(cwd)
            pulumi.runtime.set_all_config({})
            reset_options()
