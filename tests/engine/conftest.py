"""Fixtures: a fresh emulator per test and a real dynamic provider host configured against it."""

from __future__ import annotations

import json
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


# --- the pipeline: two regions, two accounts ----------------------------------------------------------------

HOME_REGION, OTHER_REGION = REGIONS = ("cn-north-4", "cn-south-1")
# The type tokens of the pipeline resources (pulumi-python:dynamic/<module>:<name>, from resource.py).
TYPE_TOKENS = {
    "ImageCopy": "pulumi-python:dynamic/ims:ImageCopy",
    "ImageShare": "pulumi-python:dynamic/ims:ImageShare",
    "ImageShareAccepter": "pulumi-python:dynamic/ims:ImageShareAccepter",
}


def pipeline_config(emu: EmulatorServer, account: str = "default", **extra: str) -> dict[str, Any]:
    """A stack of ``account`` in the home region, reaching the other region through ims:regionEndpoints."""
    who = emu.account(account)
    return stack_config(
        emu.url,
        **{
            "ims:accessKey": who.access_key,
            "ims:secretKey": who.secret_key,
            "ims:regionEndpoints": json.dumps({OTHER_REGION: emu.url_for(OTHER_REGION)}),
            **extra,
        },
    )


@pytest.fixture(scope="module")
def pipeline_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(regions=REGIONS, job_seconds=0.5) as server:
        yield server


@pytest.fixture
def pemu(pipeline_emulator: EmulatorServer) -> EmulatorServer:
    """The two-region emulator, back in its start-up state (both accounts, no images, no members)."""
    pipeline_emulator.admin.reset()
    pipeline_emulator.admin.update_settings(job_seconds=0.5)
    return pipeline_emulator


@pytest.fixture(scope="module")
def owner_host(pipeline_emulator: EmulatorServer) -> Iterator[DynamicProviderHost]:
    """A host of the default account's stack (it owns the images, copies and shares them)."""
    with DynamicProviderHost(pipeline_config(pipeline_emulator)) as host:
        yield host


@pytest.fixture(scope="module")
def member_host(pipeline_emulator: EmulatorServer) -> Iterator[DynamicProviderHost]:
    """A host of the member account's stack (it accepts what the default account shares)."""
    with DynamicProviderHost(pipeline_config(pipeline_emulator, "member")) as host:
        yield host


@pytest.fixture
def owner_console(pemu: EmulatorServer) -> Iterator[ImsClient]:
    """The default account working outside Pulumi, in the home region."""
    client = ImsClient(load_config(pipeline_config(pemu).get, {}))
    yield client
    client.close()
