"""Fixtures: a fresh emulator per test and a real dynamic provider host configured against it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.server import EmulatorServer
from tests.engine.host import DynamicProviderHost

ACCESS_KEY = "EMULATORACCESSKEY"
SECRET_KEY = "EMULATORSECRETKEY"


def stack_config(url: str, **extra: str) -> dict[str, Any]:
    return {
        "ims:endpoint": url,
        "ims:region": "cn-north-4",
        "ims:accessKey": ACCESS_KEY,
        "ims:secretKey": SECRET_KEY,
        "ims:progress": "true",
        "ims:pollDelay": "0.2",
        **extra,
    }


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(job_seconds=1.0) as server:
        yield server


@pytest.fixture
def emu(emulator: EmulatorServer) -> EmulatorServer:
    emulator.admin.reset()
    emulator.admin.update_settings(job_seconds=1.0)
    return emulator


@pytest.fixture(scope="session")
def session_host(emulator: EmulatorServer) -> Iterator[DynamicProviderHost]:
    with DynamicProviderHost(stack_config(emulator.url)) as host:
        yield host


@pytest.fixture
def host(session_host: DynamicProviderHost, emu: EmulatorServer) -> DynamicProviderHost:
    """One host for the session (configured once, as the engine does); the emulator is reset per test."""
    return session_host


@pytest.fixture
def fast_host(host: DynamicProviderHost, emu: EmulatorServer) -> DynamicProviderHost:
    """The session host against 0.1 s jobs, for tests about what happens after a create."""
    emu.admin.update_settings(job_seconds=0.1)
    return host


@pytest.fixture
def console(emu: EmulatorServer) -> Iterator[ImsClient]:
    """Someone working outside Pulumi (the console, another tool): a plain client on the same account."""
    client = ImsClient(load_config(stack_config(emu.url).get, {}))
    yield client
    client.close()
