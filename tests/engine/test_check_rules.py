"""Every rule of the seed fails Check through the real host, naming the property, and sends IMS nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.server import EmulatorServer
from ims_provider.errors import ImsApiError
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


# Where check is deliberately stricter than IMS (IMS would silently ignore or accept the value).
STRICTER_THAN_IMS = {
    "name with data images only": "IMS ignores a top-level name on this path; check says so instead",
    "ten tags on a data image": "one tag place is kept for the provider's claim tag",
    "os_version on ECS": "IMS ignores os_version on the ECS path",
    "adopt creation-only input": "adoption sends no create request",
}
WIRE_CASES = [
    c
    for c in BAD
    if c[0] not in STRICTER_THAN_IMS
    and not any(k in c[1] for k in ("timeouts", "existing_image_id"))
    and any(k in c[1] for k in ("instance_id", "image_url", "volume_id", "data_images"))
]


@pytest.mark.parametrize(("case", "inputs", "prop"), WIRE_CASES, ids=[c[0] for c in WIRE_CASES])
def test_the_emulator_refuses_what_check_refuses(
    emu: EmulatorServer, case: str, inputs: dict[str, Any], prop: str
) -> None:
    """Parity: the emulator's own rules (written apart from the provider's) reject the same bodies."""
    client = ImsClient(
        load_config(
            {
                "ims:endpoint": emu.url,
                "ims:region": emu.region,
                "ims:accessKey": emu.access_key,
                "ims:secretKey": emu.secret_key,
            }.get,
            {},
        )
    )
    with pytest.raises(ImsApiError) as caught:
        client.create_image(inputs)
    assert caught.value.status == 400 and caught.value.code.startswith("IMG."), (case, caught.value)
