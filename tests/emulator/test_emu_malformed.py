"""Property test: no request body a client can send makes the emulator answer 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from emu_support import Ims
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ims_provider.emulator import EmulatorServer

FIELDS = [
    "name", "description", "instance_id", "data_images", "tags", "image_tags", "enterprise_project_id",
    "max_ram", "min_ram", "os_version", "image_url", "min_disk", "is_config", "cmk_id", "type",
    "is_quick_import", "architecture", "volume_id", "hw_firmware_type", "os_type", "is_config_init",
    "op", "path", "value", "action", "key", "delete_backup",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=20,
)
bodies = (
    json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=64)
    | st.sampled_from(
        [b"NaN", b"[Infinity]", b'{"min_disk": 1e999}', b"[" * 5000, b'{"name": 1' + b"0" * 5000 + b"}"]
    )
)


@pytest.fixture(scope="module")
def shared() -> Iterator[Ims]:
    with EmulatorServer(port=0, clock_mode="manual", image_quota=100000) as server:
        yield Ims(server)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, target=st.sampled_from(["create", "update", "tags", "delete"]))
def test_no_body_causes_a_server_error(shared: Ims, body: bytes, target: str) -> None:
    image = "00000000-0000-0000-0000-000000000000"
    method, path = {
        "create": ("POST", "/v2/cloudimages/action"),
        "update": ("PATCH", f"/v2/cloudimages/{image}"),
        "tags": ("POST", f"/v2/{shared.project_id}/images/{image}/tags/action"),
        "delete": ("DELETE", f"/v2/images/{image}"),
    }[target]
    response = shared.request(method, path, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=json_values)
def test_no_patch_on_an_active_image_causes_a_server_error(shared: Ims, ops: Any) -> None:
    shared.admin.advance(3600)
    images = shared.get("/v2/cloudimages", params={"status": "active", "limit": "1"}).json()["images"]
    if not images:
        job_id = shared.create({"name": "target", "image_url": "ims-image:centos70.qcow2", "min_disk": 40})
        shared.admin.advance(3600)
        images = [{"id": shared.job(job_id)["entities"]["image_id"]}]
    response = shared.patch(f"/v2/cloudimages/{images[0]['id']}", json=ops)
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "raw",
    [
        b"NaN",
        b"[Infinity]",
        b'{"min_disk": 1e999}',
        b"[" * 5000,
        b'{"name": 1' + b"0" * 5000 + b"}",
        b"\x00\x01",
    ],
)
def test_pathological_json_is_a_client_error(shared: Ims, raw: bytes) -> None:
    response = shared.post("/v2/cloudimages/action", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] in ("IMG.0001", "IMG.0055")
