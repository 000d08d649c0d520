"""Drive the real Python dynamic provider host (`python -u -m pulumi.dynamic`) over gRPC, like the engine.

This is not an engine: it starts the host the Pulumi CLI starts, sends the RPCs the engine sends (with
the ``__provider`` blob made by the SDK's own serializer, numbers as doubles, secrets wrapped), and hands
back what the host answers.
"""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from ims_provider.provider import PrivateImageProvider

TYPE = "pulumi-python:dynamic/ims:PrivateImage"
# How an engine may send the Read of a get. The engine source up to 3.260 sends the inputs as the state
# too (pkg/resource/deploy/step.go, ReadStep.Apply); pulumi 3.268 made its hosts fall back to the inputs
# because a get may come with no state at all ("on a user-driven Get it passes nil").
GET_SHAPES = ("inputs-as-state", "no-state")
PROJECT = "ims-tests"
REPO = Path(__file__).resolve().parents[2]


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Serialize like the engine; a private loop keeps later set_mocks tests working."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct, keep_unknowns: bool = False) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=keep_unknowns))


def provider_blob(provider: ResourceProvider | None = None) -> str:
    blob = serialize_provider(provider or PrivateImageProvider())
    assert isinstance(blob, str)
    return blob


class DynamicProviderHost:
    """One host process: Configure once (the host caches a configured provider per blob), then CRUD.

    The RPCs are PrivateImage's; :meth:`serving` gives a view of the same process for another resource type
    (its provider's blob and type token), as the engine sends every dynamic resource of a stack to one host.
    """

    def __init__(self, config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> None:
        self.config = dict(config)
        self.env = {**os.environ, "PULUMI_PROJECT": PROJECT, "PYTHONPATH": str(REPO), **(env or {})}
        self.blob = provider_blob()
        self.type_token = TYPE
        self.lines: list[str] = []
        self.drains: list[threading.Thread] = []
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> DynamicProviderHost:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", "127.0.0.1:0"],
            env=self.env,
            cwd=str(REPO),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        port = int(self.proc.stdout.readline().strip())
        self.drains = [
            threading.Thread(target=self._drain, args=(stream,), daemon=True)
            for stream in (self.proc.stdout, self.proc.stderr)
        ]
        for drain in self.drains:
            drain.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.configure(self.config)

    def _drain(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        """End the host; afterwards ``lines`` holds everything it printed."""
        if self.proc is not None and self.proc.poll() is None:
            self.channel.close()
            self.proc.terminate()
            self.proc.wait(timeout=10)
        for drain in self.drains:
            drain.join(timeout=10)
        if self.proc is not None and not any(drain.is_alive() for drain in self.drains):
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()

    def kill(self) -> None:
        """What a second Ctrl-C does: the host dies mid-call."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def line_with(self, *parts: str, within: float = 5.0) -> str:
        """The first output line holding every part; the host's output is drained by a thread, so it is
        given ``within`` seconds to arrive."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if all(p in line for p in parts):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no host output line with {parts}: {self.lines[-5:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    # --- RPCs -------------------------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> Any:
        args = {k: (rpc.wrap_rpc_secret(v) if k.endswith(("Key", "Token")) else v) for k, v in config.items()}
        return self.stub.Configure(
            provider_pb2.ConfigureRequest(
                args=to_struct(args),
                acceptSecrets=True,
                acceptResources=True,
                type="pulumi:providers:pulumi-python",
                name="default",
            )
        )

    def serving(self, provider: ResourceProvider, type_token: str) -> DynamicProviderHost:
        """This host process, sending the RPCs of another dynamic resource type."""
        view = copy.copy(self)
        view.blob = provider_blob(provider)
        view.type_token = type_token
        return view

    def urn(self, name: str) -> str:
        return f"urn:pulumi:test::{PROJECT}::{self.type_token}::{name}"

    def check(self, name: str, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> Any:
        return self.stub.Check(
            provider_pb2.CheckRequest(
                urn=self.urn(name),
                type=self.type_token,
                name=name,
                olds=to_struct(olds or {}),
                news=to_struct({**news, "__provider": self.blob}),
            )
        )

    def checked(self, name: str, news: Mapping[str, Any]) -> dict[str, Any]:
        """Check and insist it passed; returns the checked inputs (with ``__provider``)."""
        response = self.check(name, news)
        failures = [(f.property, f.reason) for f in response.failures]
        assert not failures, failures
        return from_struct(response.inputs)

    def diff(
        self,
        name: str,
        id_: str,
        state: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> Any:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=self.urn(name),
                olds=to_struct(state),
                news=to_struct({**news, "__provider": self.blob}),
                old_inputs=to_struct(old_inputs or {}),
            )
        )

    def create(self, name: str, inputs: Mapping[str, Any], timeout: float = 0) -> tuple[str, dict[str, Any]]:
        response = self.stub.Create(
            provider_pb2.CreateRequest(
                urn=self.urn(name),
                type=self.type_token,
                name=name,
                properties=to_struct(inputs),
                timeout=timeout,
            )
        )
        return response.id, from_struct(response.properties)

    def read(self, name: str, id_: str, state: Mapping[str, Any] | None, inputs: Mapping[str, Any]) -> Any:
        return self.stub.Read(
            provider_pb2.ReadRequest(
                id=id_, urn=self.urn(name), properties=to_struct(state or {}), inputs=to_struct(inputs)
            )
        )

    def read_for_get(self, name: str, id_: str, shape: str = "no-state") -> Any:
        """The Read a ``PrivateImage.get(name, id)`` makes, in one of ``GET_SHAPES``. Its inputs are the
        program's: only ``__provider``, since every property of a get is None and None values are not sent."""
        inputs = {"__provider": self.blob}
        state = {"no-state": {}, "inputs-as-state": inputs}[shape]
        return self.stub.Read(
            provider_pb2.ReadRequest(
                id=id_, urn=self.urn(name), properties=to_struct(state), inputs=to_struct(inputs)
            )
        )

    def refresh(
        self, name: str, id_: str, state: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """``pulumi refresh`` of one resource: (new id, new outputs, new inputs) as the engine stores them."""
        response = self.read(name, id_, state, inputs)
        return response.id, from_struct(response.properties), from_struct(response.inputs)

    def preview(
        self,
        name: str,
        id_: str,
        state: Mapping[str, Any],
        old_inputs: Mapping[str, Any],
        program: Mapping[str, Any],
    ) -> tuple[Any, dict[str, Any]]:
        """What a preview does for an existing resource: Check (old inputs, program) then Diff (old outputs,
        checked inputs), both with unknowns kept. Returns the DiffResponse and the checked inputs."""
        response = self.check(name, program, olds=old_inputs)
        failures = [(f.property, f.reason) for f in response.failures]
        assert not failures, failures
        news = from_struct(response.inputs, keep_unknowns=True)
        return self.diff(name, id_, state, news, old_inputs), news

    def update(
        self, name: str, id_: str, state: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        response = self.stub.Update(
            provider_pb2.UpdateRequest(
                id=id_,
                urn=self.urn(name),
                olds=to_struct(state),
                news=to_struct({**news, "__provider": self.blob}),
                type=self.type_token,
                name=name,
            )
        )
        return from_struct(response.properties)

    def delete(self, name: str, id_: str, state: Mapping[str, Any]) -> None:
        self.stub.Delete(
            provider_pb2.DeleteRequest(
                id=id_, urn=self.urn(name), properties=to_struct(state), type=self.type_token, name=name
            )
        )
