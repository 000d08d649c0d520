"""Every create path through the real dynamic provider host, over gRPC, against the emulator over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ims_provider.emulator.server import EmulatorServer
from tests.engine.host import DynamicProviderHost
from tests.seed_examples import SEED_REQUESTS

CREATE_PATHS = ("/v2/cloudimages/action",)


def create_bodies(emu: EmulatorServer) -> list[dict[str, Any]]:
    return [
        entry["body"] if isinstance(entry["body"], dict) else json.loads(entry["body"])
        for entry in emu.admin.requests()
        if entry["method"] == "POST" and entry["path"] in CREATE_PATHS
    ]


def image_ids(emu: EmulatorServer) -> set[str]:
    return {img["id"] for img in emu.admin.state()["images"]}


@pytest.mark.parametrize("example", sorted(SEED_REQUESTS))
def test_seed_example_end_to_end(host: DynamicProviderHost, emu: EmulatorServer, example: str) -> None:
    """Check, Create (wire body == the seed's), Read, Delete, for each of the seed's 8 requests."""
    inputs = host.checked(example, SEED_REQUESTS[example])
    id_, state = host.create(example, inputs)

    assert create_bodies(emu) == [SEED_REQUESTS[example]]
    assert id_ and state["image_id"] == id_ and state["status"] == "active"
    made = image_ids(emu)
    expected_count = (
        1 + len(SEED_REQUESTS[example].get("data_images", [])) - ("name" not in SEED_REQUESTS[example])
    )
    assert len(made) == expected_count
    assert id_ in made and set(state["data_image_ids"]) <= made

    read = host.read(example, id_, state, inputs)
    assert read.id == id_

    host.delete(example, id_, state)
    assert image_ids(emu) == set()
    gone = host.read(example, id_, state, inputs)
    assert gone.id == ""


def test_ecs_with_data_images_in_request_order(host: DynamicProviderHost, emu: EmulatorServer) -> None:
    server = emu.admin.add_server(name="db", data_volumes=[{"size": 100}, {"size": 200}])
    vols = server["data_volume_ids"]
    inputs = host.checked(
        "db",
        {
            "name": "db-golden",
            "instance_id": server["id"],
            "data_images": [
                {"name": "db-data-b", "volume_id": vols[1]},
                {"name": "db-data-a", "volume_id": vols[0]},
            ],
            "image_tags": {"team": "db"},
        },
    )
    id_, state = host.create("db", inputs)
    images = {img["id"]: img for img in emu.admin.state()["images"]}
    assert images[id_]["name"] == "db-golden"
    assert [images[i]["name"] for i in state["data_image_ids"]] == ["db-data-b", "db-data-a"]
    assert state["image_tags"] == {"team": "db"}
    assert state["min_disk"] > 0 and state["os_version"]
    host.delete("db", id_, state)
    assert image_ids(emu) == set()


def test_obs_with_data_files_quick_import_and_encryption(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    for key in ("sys.zvhd2", "d1.zvhd2", "d2.zvhd2", "d3.zvhd2"):
        emu.admin.add_object(bucket="media", key=key)
    news = {
        "name": "imported",
        "image_url": "media:sys.zvhd2",
        "min_disk": 40,
        "os_version": "CentOS 7.9 64bit",
        "is_quick_import": True,
        "cmk_id": "kms-key-1",
        "data_images": [
            {"name": f"data-{i}", "image_url": f"media:d{i}.zvhd2", "min_disk": 100 * i} for i in (1, 2, 3)
        ],
    }
    inputs = host.checked("obs", news)
    id_, state = host.create("obs", inputs)
    assert len(state["data_image_ids"]) == 3
    images = {img["id"]: img for img in emu.admin.state()["images"]}
    assert [images[i]["min_disk"] for i in state["data_image_ids"]] == [100, 200, 300]
    assert create_bodies(emu)[0]["cmk_id"] == "kms-key-1"
    host.delete("obs", id_, state)
    assert image_ids(emu) == set()


def test_bad_input_fails_check_and_sends_nothing(host: DynamicProviderHost, emu: EmulatorServer) -> None:
    response = host.check("bad", {"name": " bad", "image_url": "b:o", "min_disk": 20})
    failures = {f.property: f.reason for f in response.failures}
    assert set(failures) == {"name", "min_disk"}
    assert emu.admin.requests() == []


def test_configure_declines_secrets(emulator: EmulatorServer) -> None:
    from tests.engine.conftest import stack_config

    with DynamicProviderHost(stack_config(emulator.url)) as fresh:
        response = fresh.configure(stack_config(emulator.url))
        assert response.acceptSecrets is False
