"""Run a Pulumi program of this provider with no Pulumi CLI: Pulumi's own mock runtime, the real providers.

Under ``pulumi.runtime.set_mocks`` a program registers its resources with a mock monitor instead of an
engine. Here the mock of a dynamic resource (every resource of this package) does what the dynamic provider
host does: it unpickles the ``__provider`` blob, configures it with the stack config, and calls ``check``,
then ``create``; so every image is made for real by whichever IMS the config points at (the bundled
emulator, in ``ims-provider try`` and in the tests). Other resource types go to per-type handlers:
:class:`EcsEmulation` turns each pulumi-huaweicloud ECS into an emulator server. A
``pulumi.StackReference`` answers with the outputs of a stack run before it. :meth:`ProgramMocks.destroy`
deletes what a run made, newest first, through the same providers, as ``pulumi destroy`` would.

This is a dry run of the *provider*: no engine, no state, no diff. What it shows is what the provider sends
and what IMS makes.
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
from typing import Any, Protocol

import dill
import pulumi
from pulumi.dynamic import ConfigureRequest, ResourceProvider
from pulumi.dynamic.config import Config
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

__all__ = [
    "DYNAMIC_TYPE_PREFIX",
    "ECS_TYPE",
    "CheckFailedError",
    "EcsEmulation",
    "ProgramMocks",
    "Registered",
    "project_name",
    "run_program",
]

DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
ECS_TYPE = "huaweicloud:Ecs/instance:Instance"  # pulumi_huaweicloud.ecs.Instance

ResourceHandler = Callable[[MockResourceArgs], tuple[str, dict[str, Any]]]


class Deletable(Protocol):
    """A handler that can also undo what it made (called by :meth:`ProgramMocks.destroy`)."""

    def __call__(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]: ...
    def delete(self, resource_id: str) -> None: ...


def project_name(directory: Path) -> str:
    """The ``name:`` of a program's Pulumi.yaml (the namespace of its ``pulumi.Config()``)."""
    manifest = directory / "Pulumi.yaml"
    if not manifest.is_file():
        raise FileNotFoundError(f"{directory} has no Pulumi.yaml: it is not a Pulumi project")
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith("name:"):
            return line.partition(":")[2].strip()
    raise ValueError(f"{manifest} has no name")


class CheckFailedError(Exception):
    """The provider's ``check`` refused a resource's inputs (the engine would stop the deployment)."""


@dataclass
class Registered:
    """One resource the program registered, with what the mock answered (and who can delete it)."""

    typ: str
    name: str
    inputs: dict[str, Any]
    id: str
    outputs: dict[str, Any]
    provider: ResourceProvider | None = field(default=None, repr=False)


@dataclass
class ProgramMocks(pulumi.runtime.Mocks):
    """Mocks that run the real dynamic providers, hand other types to ``handlers``, and answer stack
    references from ``stacks`` (stack name -> its outputs)."""

    stack_config: Mapping[str, str] = field(repr=False)  # it may hold keys: never in a repr or a traceback
    project: str
    handlers: Mapping[str, ResourceHandler] = field(default_factory=dict)
    call_dynamic: bool = True
    stacks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resources: list[Registered] = field(default_factory=list, init=False)
    check_failures: list[tuple[str, str, str]] = field(default_factory=list, init=False)
    _lock: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _in_flight: int = field(default=0, init=False, repr=False)

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        with self._lock:
            self._in_flight += 1
        try:
            provider: ResourceProvider | None = None
            if args.typ.startswith(DYNAMIC_TYPE_PREFIX):
                resource_id, outputs, provider = self._dynamic(args)
            elif args.typ.startswith(PROVIDER_TYPE_PREFIX):
                resource_id, outputs = f"{args.name}-provider", dict(args.inputs)
            elif args.typ == STACK_REFERENCE_TYPE:
                resource_id, outputs = self._stack_reference(args)
            elif args.typ in self.handlers:
                resource_id, outputs = self.handlers[args.typ](args)
            else:
                raise LookupError(f"no emulation for resource type {args.typ} ({args.name})")
            with self._lock:
                self.resources.append(
                    Registered(args.typ, args.name, dict(args.inputs), resource_id, outputs, provider)
                )
            return resource_id, outputs
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for registrations still running in executor threads (a failed program does not wait for its
        other resources), so nothing of this run reaches IMS after it returns."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} resource registration(s) still running")

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise LookupError(f"the program made an invoke no emulation serves: {args.token}")

    def _stack_reference(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        name = str(args.inputs.get("name") or args.resource_id or args.name)
        if name not in self.stacks:
            known = ", ".join(sorted(self.stacks)) or "none"
            raise LookupError(
                f"StackReference {name!r}: no such stack was run before this one (run: {known})"
            )
        outputs = dict(self.stacks[name])
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}

    def _dynamic(self, args: MockResourceArgs) -> tuple[str, dict[str, Any], ResourceProvider | None]:
        inputs = dict(args.inputs)
        blob = inputs.pop("__provider")
        if not self.call_dynamic:
            return f"{args.name}-id", inputs, None
        provider = dill.loads(base64.b64decode(blob))  # noqa: S301 - the blob this very program just made
        provider.configure(ConfigureRequest(Config(dict(self.stack_config), self.project)))
        checked = provider.check({}, inputs)
        if checked.failures:
            failures = [(args.name, f.property, f.reason) for f in checked.failures]
            with self._lock:
                self.check_failures += failures
            raise CheckFailedError("; ".join(f"{name}: {prop}: {reason}" for name, prop, reason in failures))
        created = provider.create(checked.inputs)
        return created.id, {**checked.inputs, **(created.outs or {})}, provider

    def of_type(self, typ_prefix: str) -> dict[str, Registered]:
        """Registered resources whose type starts with ``typ_prefix``, by resource name."""
        return {r.name: r for r in self.resources if r.typ.startswith(typ_prefix)}

    def destroy(self) -> list[Registered]:
        """Delete what the run made, newest first (dependents before what they depend on), as ``pulumi
        destroy`` does; return what was deleted. A failed delete stops here and raises, leaving the rest."""
        deleted: list[Registered] = []
        for resource in reversed(self.resources):
            if resource.provider is not None:
                resource.provider.delete(resource.id, resource.outputs)
            else:
                handler = self.handlers.get(resource.typ)
                remove = getattr(handler, "delete", None)
                if remove is None:
                    continue
                remove(resource.id)
            deleted.append(resource)
        return deleted


LOOP_ERRORS: deque[str] = deque(maxlen=100)  # for debugging a failed run


def _note_loop_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Keep only the message (no exception object, so no frames are kept alive)."""
    LOOP_ERRORS.append(str(context.get("message")))


@contextmanager
def _private_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh loop, current for one program run and closed after it. Afterwards no loop is current, so a
    later caller never gets this closed one; whoever needs a loop makes its own (pulumi's ``_sync_await``
    does). Asking for "the current loop" here instead would make one where there is none (deprecated since
    Python 3.12, an error from 3.14) and leak it."""
    loop = asyncio.new_event_loop()
    # A failed program leaves futures whose exception nobody retrieves; they report it from __del__, often
    # during a later GC pass. The default handler formats the traceback there, and on CPython 3.11 that
    # ast.parse inside another ast.parse (pytest's assertion rewriter) fails with "SystemError: AST
    # constructor recursion depth mismatch". The run's own exception is raised by run_program anyway.
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


def run_program(
    directory: Path, mocks: ProgramMocks, config: Mapping[str, str], *, stack: str = "tryout"
) -> dict[str, Any]:
    """Run ``<directory>/__main__.py`` with ``config`` as the stack config; return the resolved stack
    outputs (exceptions of the program or of a mock propagate)."""
    directory = directory.resolve()
    project = project_name(directory)
    cwd = os.getcwd()
    with _private_event_loop():
        try:
            os.chdir(directory)
            reset_options(project=project, stack=stack, preview=False)  # also forgets the old root stack
            pulumi.runtime.set_all_config(dict(config))
            pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
            root = get_root_resource()
            if not isinstance(root, Stack):  # pulumi.export writes to root.outputs
                raise RuntimeError("Pulumi's mock runtime made no root stack")
            program = str(directory / "__main__.py")

            def program_run() -> None:
                runpy.run_path(program, run_name="__main__")

            _sync_await(run_pulumi_func(program_run))
            resolved = _sync_await(pulumi.Output.from_input(root.outputs).future())
            return dict(resolved or {})
        finally:
            mocks.wait_idle()
            os.chdir(cwd)
            pulumi.runtime.set_all_config({})
            reset_options()


class EmulatedImages(Protocol):
    """What :class:`EcsEmulation` needs of the emulator: its admin API."""

    def add_server(self, **spec: Any) -> dict[str, Any]: ...
    def state(self, region: str | None = None) -> dict[str, Any]: ...


class EcsEmulation:
    """pulumi-huaweicloud ECSs become emulator servers, so IMS can image them and their images can boot them.

    ``power_action: OFF`` gives a stopped server (SHUTOFF), anything else a running one (ACTIVE). An ECS
    launched from an image takes its OS from it, and fails as ECS would unless the image is active and fits
    on the system disk. ``public_images`` are the base images (ID -> OS) ECS knows besides IMS's.
    """

    def __init__(self, admin: EmulatedImages, public_images: Mapping[str, str]) -> None:
        self.admin = admin
        self.public_images = dict(public_images)
        self.servers: dict[str, dict[str, Any]] = {}

    def __call__(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        image_id = str(inputs["imageId"])
        disk_gb = int(inputs.get("systemDiskSize") or 40)
        region = inputs.get("region") or None  # absent: the emulator's home region (the provider's)
        os_version = self.public_images.get(image_id) or self._private_image_os(image_id, disk_gb, region)
        stopped = inputs.get("powerAction") in ("OFF", "FORCE-OFF")
        server = self.admin.add_server(
            name=inputs["name"],
            status="SHUTOFF" if stopped else "ACTIVE",
            system_volume={"size": disk_gb, "os_version": os_version},
            **({"region": region} if region else {}),
        )
        self.servers[args.name] = server
        return server["id"], {**inputs, "status": "SHUTOFF" if stopped else "ACTIVE"}

    def _private_image_os(self, image_id: str, disk_gb: int, region: str | None) -> str:
        image = next((i for i in self.admin.state(region)["images"] if i["id"] == image_id), None)
        if image is None or image["status"] != "active":
            where = f" in {region}" if region else ""
            raise ValueError(f"ECS launched from image {image_id}, which is not an active image{where}")
        if int(image["min_disk"]) > disk_gb:
            raise ValueError(
                f"image {image_id} needs {image['min_disk']} GB, the system disk has {disk_gb} GB"
            )
        return str(image["__os_version"])
