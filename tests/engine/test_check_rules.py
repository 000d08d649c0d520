"""Every rule of the seed fails Check through the real host, naming the property, and sends IMS nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ims_provider.emulator.server import EmulatorServer
from tests.engine.host import DynamicProviderHost
from tests.rule_cases import BAD


@pytest.mark.parametrize(("case", "inputs", "prop"), BAD, ids=[c[0] for c in BAD])
def test_rule_fails_check_before_any_request(
    host: DynamicProviderHost, emu: EmulatorServer, case: str, inputs: dict[str, Any], prop: str
) -> None:
    response = host.check(case.replace(" ", "-"), inputs)
    failures = {f.property: f.reason for f in response.failures}
    assert prop in failures, failures
    assert all(reason for reason in failures.values())
    assert emu.admin.requests() == []
