"""Fixtures for the emulator suite: fresh in-process emulators (real or manual clock) and signed clients."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from emu_support import Ims

from ims_provider.emulator import EmulatorServer


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Real clock, jobs of half a second."""
    with EmulatorServer(port=0, job_seconds=0.5) as server:
        yield server


@pytest.fixture
def manual_emulator() -> Iterator[EmulatorServer]:
    """Manual clock: jobs (60 s) only progress when a test advances the clock."""
    with EmulatorServer(port=0, job_seconds=60, clock_mode="manual") as server:
        yield server


@pytest.fixture
def ims(emulator: EmulatorServer) -> Ims:
    return Ims(emulator)


@pytest.fixture
def mims(manual_emulator: EmulatorServer) -> Ims:
    return Ims(manual_emulator)


NORTH, SOUTH = "cn-north-4", "cn-south-1"


@pytest.fixture
def two_regions() -> Iterator[EmulatorServer]:
    """Two regions (cn-north-4 is home), the default and the member account, manual clock, 60 s jobs."""
    with EmulatorServer(port=0, job_seconds=60, clock_mode="manual", regions=(NORTH, SOUTH)) as server:
        yield server


@pytest.fixture
def owner(two_regions: EmulatorServer) -> Ims:
    """The default account at cn-north-4's endpoint."""
    return Ims(two_regions)


@pytest.fixture
def owner_south(two_regions: EmulatorServer) -> Ims:
    return Ims(two_regions, region=SOUTH)


@pytest.fixture
def member(two_regions: EmulatorServer) -> Ims:
    """The member account at cn-north-4's endpoint."""
    return Ims(two_regions, account="member")
