"""Fixtures: one emulator and one real dynamic provider host for the directory, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ims_provider.emulator.server import EmulatorServer
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost

JOB_SECONDS = 1.0
# Host-level recovery settings: look 1 s for the image of an unanswered create before re-sending it.
HOST_EXTRA = {"ims:recoveryGrace": "1", "ims:progress": "true"}


@pytest.fixture(scope="session")
def rel_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(job_seconds=JOB_SECONDS) as server:
        yield server


@pytest.fixture
def emu(rel_emulator: EmulatorServer) -> EmulatorServer:
    rel_emulator.admin.reset()
    rel_emulator.admin.update_settings(job_seconds=JOB_SECONDS)
    return rel_emulator


@pytest.fixture(scope="session")
def rel_session_host(rel_emulator: EmulatorServer) -> Iterator[DynamicProviderHost]:
    with DynamicProviderHost(stack_config(rel_emulator.url, **HOST_EXTRA)) as host:
        yield host


@pytest.fixture
def host(rel_session_host: DynamicProviderHost, emu: EmulatorServer) -> DynamicProviderHost:
    return rel_session_host
