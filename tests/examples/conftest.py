"""Fixtures for the example tests: one emulator (the two regions `ims-provider try` serves) for the module,
reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ims_provider.emulator import EmulatorServer
from ims_provider.tryout import REGIONS

JOB_SECONDS = 0.5


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, regions=REGIONS, job_seconds=JOB_SECONDS) as server:
        yield server


@pytest.fixture
def emu(emulator: EmulatorServer) -> EmulatorServer:
    """The emulator back in its start-up state: seeded resources only, no images, empty request log."""
    emulator.admin.reset()
    assert emulator.admin.state()["images"] == []
    return emulator


@pytest.fixture
def stack_config(emu: EmulatorServer) -> dict[str, str]:
    """The provider's part of the stack config, pointing at the emulator."""
    return {
        "ims:endpoint": emu.url,
        "ims:region": "cn-north-4",
        "ims:accessKey": emu.access_key,
        "ims:secretKey": emu.secret_key,
        "ims:pollDelay": "0.2",
        "ims:progress": "false",
    }
