"""Hostile input, property-based.

* ``check()`` over arbitrary nested JSON-like inputs (NaN, huge numbers, wrong types, unknowns, deep nesting)
  never raises, names a non-empty property in every failure, and sends nothing to the network: directly on
  a provider configured against the emulator (whose request log must stay empty, with sockets blocked),
  and through the real dynamic provider host.
* The emulator, given malformed bodies, wrong content types, oversized fields and odd queries on routes that
  reach real images (active, saving, data images), answers 4xx, never 5xx.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import Unknown

from ims_provider.auth import AkSkAuth
from ims_provider.emulator.server import EmulatorServer
from ims_provider.model.private_image import PRIVATE_IMAGE
from ims_provider.provider import PrivateImageProvider
from tests.engine.host import DynamicProviderHost
from tests.reliability.support import ECS, client_for, emulator_config, inputs_for, wait_until

ITEM_FIELDS = [
    "name",
    "volume_id",
    "description",
    "image_url",
    "min_disk",
    "is_quick_import",
    "tags",
    "image_tags",
]
KEYS = st.sampled_from([*PRIVATE_IMAGE.input_names, *ITEM_FIELDS, "key", "value", "__provider"]) | st.text(
    max_size=12
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities included
    | st.text(max_size=60)
    | st.sampled_from(["", " ", "0", "1h", "-5m", "ims-image:x.iso", ECS, "key.value", "a" * 200])
)


def json_like(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
        max_leaves=25,
    )


def _nested(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Inputs shaped like PrivateImage's (real keys, plausible nesting) with arbitrary values."""
    item = st.dictionaries(st.sampled_from(ITEM_FIELDS) | st.text(max_size=6), values, max_size=6)
    special = st.fixed_dictionaries(
        {},
        optional={
            "data_images": st.lists(item | values, max_size=4) | values,
            "timeouts": st.dictionaries(st.sampled_from(["create", "update", "delete", "x"]), values)
            | values,
            "image_tags": st.dictionaries(st.text(max_size=40), values, max_size=12) | values,
            "tags": st.lists(st.text(max_size=50) | values, max_size=12) | values,
        },
    )
    top = st.dictionaries(KEYS, values, max_size=10)
    return st.builds(lambda a, b: {**a, **b}, top, special)


plain_inputs = _nested(json_like(scalars))
preview_inputs = _nested(json_like(scalars | st.just(Unknown())))


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Any attempt to open a connection fails loudly."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("check() tried to use the network")

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection)
    socket.socket.connect, socket.socket.connect_ex = refuse, refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def quiet_emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(job_seconds=0.5) as server:
        yield server


@pytest.fixture(scope="module")
def provider(quiet_emu: EmulatorServer) -> PrivateImageProvider:
    provider = PrivateImageProvider()
    provider.configure(ConfigureRequest(Config(emulator_config(quiet_emu), "ims-tests")))
    quiet_emu.admin.clear_requests()
    return provider


def _assert_named(failures: Any) -> None:
    for failure in failures or []:
        assert isinstance(failure.property, str) and failure.property.strip(), failure
        assert isinstance(failure.reason, str) and failure.reason.strip(), failure


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(olds=plain_inputs, news=preview_inputs)
def test_check_never_raises_names_every_property_and_stays_offline(
    provider: PrivateImageProvider, quiet_emu: EmulatorServer, olds: dict[str, Any], news: dict[str, Any]
) -> None:
    with no_network():
        result = provider.check(olds, news)
    _assert_named(result.failures)
    assert quiet_emu.admin.requests() == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(news=_nested(json_like(scalars.filter(lambda v: not isinstance(v, float) or v == v))))
def test_check_through_the_host_never_fails_the_rpc(
    host: DynamicProviderHost, emu: EmulatorServer, news: dict[str, Any]
) -> None:
    news = {k: v for k, v in news.items() if k != "__provider"}
    response = host.check("hostile", news)  # a gRPC error would raise here
    for failure in response.failures:
        assert failure.property.strip() and failure.reason.strip()
    assert emu.admin.requests() == []


def test_valid_inputs_have_no_failures(provider: PrivateImageProvider) -> None:
    """The property above would pass vacuously if check() failed everything: it does not."""
    assert provider.check({}, inputs_for("ecs_data", "fine")).failures == []
    assert [f.property for f in provider.check({}, {"name": 5, "instance_id": ECS}).failures] == ["name"]


# --- the emulator under hostile requests ----------------------------------------------------------------

CONTENT_TYPES = [
    "application/json",
    "application/json;charset=UTF-8",
    "application/openstack-images-v2.1-json-patch",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "",
]
big_text = st.integers(min_value=0, max_value=200_000).map(lambda n: "x" * n)
body_values = json_like(scalars | big_text)
hostile_bodies = (
    body_values.map(lambda v: json.dumps(v, allow_nan=True).encode())
    | st.dictionaries(KEYS, body_values, max_size=8).map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=256)
    | st.sampled_from(
        [b"[" * 20000, b'{"name": "\xff\xfe"}', b"\x00" * 10, b'[{"op":"add","path":"/","value":1}]']
    )
)


class Signed:
    """Requests signed like a real client's, so they get past authentication to validation."""

    def __init__(self, emu: EmulatorServer) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.auth = AkSkAuth(emu.access_key, emu.secret_key, project_id=emu.project_id)

    def send(self, method: str, path: str, body: bytes | None, content_type: str, query: str = "") -> int:
        headers = {"Content-Type": content_type} if content_type else {}
        url = f"{self.emu.url}{path}" + (f"?{query}" if query else "")
        response = self.session.request(method, url, data=body, headers=headers, auth=self.auth, timeout=30)
        return response.status_code


@pytest.fixture(scope="module")
def hostile_emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(job_seconds=0.5, image_quota=100_000) as server:
        yield server


@pytest.fixture(scope="module")
def targets(hostile_emu: EmulatorServer) -> dict[str, str]:
    """An active system image, an active data image, and a system image still being made."""
    client = client_for(hostile_emu)
    data_images = inputs_for("ecs_data", "a")["data_images"]
    client.create_image({"name": "active", "instance_id": ECS, "data_images": data_images})
    wait_until(
        lambda: all(i["status"] == "active" for i in hostile_emu.admin.state()["images"]), 10, "active"
    )
    found = {i["virtual_env_type"]: i["id"] for i in hostile_emu.admin.state()["images"]}
    hostile_emu.admin.update_settings(job_seconds=3600)
    client.create_image({"name": "saving", "instance_id": ECS})
    saving = next(i["id"] for i in hostile_emu.admin.state()["images"] if i["name"] == "saving")
    return {"system": found["FusionCompute"], "data": found["DataImage"], "saving": saving}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=hostile_bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    route=st.sampled_from(["create", "update", "tags", "delete", "list"]),
    which=st.sampled_from(["system", "data", "saving", "missing"]),
    query=st.text(max_size=40).map(lambda q: requests.utils.quote(q, safe="=&")),
)
def test_emulator_answers_hostile_requests_with_4xx_never_5xx(
    hostile_emu: EmulatorServer,
    targets: dict[str, str],
    body: bytes,
    content_type: str,
    route: str,
    which: str,
    query: str,
) -> None:
    if route == "delete" and which in ("system", "data"):
        which = "saving"  # a well-formed DELETE would remove the active targets the other routes need
    image = targets.get(which, "00000000-0000-0000-0000-000000000000")
    project = hostile_emu.project_id
    method, path = {
        "create": ("POST", "/v2/cloudimages/action"),
        "update": ("PATCH", f"/v2/cloudimages/{image}"),
        "tags": ("POST", f"/v2/{project}/images/{image}/tags/action"),
        "delete": ("DELETE", f"/v2/images/{image}"),
        "list": ("GET", "/v2/cloudimages"),
    }[route]
    status = Signed(hostile_emu).send(method, path, body, content_type, query if route == "list" else "")
    assert status < 500, (method, path, content_type, body[:200])


def test_oversized_body_is_413_not_5xx(hostile_emu: EmulatorServer) -> None:
    body = json.dumps({"name": "n", "instance_id": ECS, "description": "x" * (2 * 1024 * 1024)}).encode()
    assert Signed(hostile_emu).send("POST", "/v2/cloudimages/action", body, "application/json") == 413
