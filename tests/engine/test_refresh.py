"""Refresh (drift, out-of-band deletes), ``PrivateImage.get`` and adoption through the real host."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest

from ims_provider.client import ImsClient
from ims_provider.emulator.fixtures import SEED_DATA_VOLUME_ID, SEED_ECS_ID
from ims_provider.emulator.server import EmulatorServer
from ims_provider.recovery import CLAIM_ATTRIBUTE
from tests.engine.host import GET_SHAPES, DynamicProviderHost, from_struct
from tests.engine.support import (
    CREATE_PATH,
    DIFF_NONE,
    DIFF_SOME,
    images,
    live_tags,
    make_image,
    up,
    writes,
)

MISSING_ID = "5d5c0d5e-0000-4000-8000-000000000000"


def without_provider(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "__provider"}


# --- refresh ---------------------------------------------------------------------------------------------


def test_refresh_shows_drift_and_the_next_up_reverts_it(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    program = {
        "name": "web",
        "description": "golden",
        "instance_id": SEED_ECS_ID,
        "min_ram": 1024,
        "image_tags": {"team": "web"},
    }
    res = up(fast_host, "web", program)
    console.update_image(res.id, [{"op": "replace", "path": "/name", "value": "web-renamed"}])
    console.update_image(res.id, [{"op": "replace", "path": "/__description", "value": "edited"}])
    console.tags_action(res.id, "create", [{"key": "team", "value": "ops"}, {"key": "owner", "value": "bob"}])

    id_, outs, ins = fast_host.refresh(res.name, res.id, res.state, res.inputs)
    assert id_ == res.id
    assert without_provider(ins) == {
        "name": "web-renamed",
        "description": "edited",
        "instance_id": SEED_ECS_ID,
        "min_ram": 1024.0,
        "image_tags": {"team": "ops", "owner": "bob"},
    }
    assert (outs["name"], outs["description"], outs["image_tags"]) == (
        "web-renamed",
        "edited",
        {"team": "ops", "owner": "bob"},
    )

    emu.admin.clear_requests()
    diff, news = fast_host.preview(res.name, id_, outs, ins, program)
    assert diff.changes == DIFF_SOME and list(diff.replaces) == []
    after = fast_host.update(res.name, id_, outs, news)
    tags = f"/v2/{emu.project_id}/images/{res.id}/tags/action"
    assert writes(emu) == [
        ("PATCH", f"/v2/cloudimages/{res.id}", [{"op": "replace", "path": "/name", "value": "web"}], 200),
        (
            "PATCH",
            f"/v2/cloudimages/{res.id}",
            [{"op": "replace", "path": "/__description", "value": "golden"}],
            200,
        ),
        ("POST", tags, {"action": "delete", "tags": [{"key": "owner", "value": "bob"}]}, 204),
        ("POST", tags, {"action": "create", "tags": [{"key": "team", "value": "web"}]}, 204),
    ]
    assert live_tags(console, res.id) == {"team": "web"}
    assert (after["name"], after["description"]) == ("web", "golden")


def test_refresh_ignores_attributes_the_program_leaves_alone(
    fast_host: DynamicProviderHost, console: ImsClient
) -> None:
    program = {"name": "web", "instance_id": SEED_ECS_ID}
    res = up(fast_host, "web", program)
    console.update_image(res.id, [{"op": "add", "path": "/max_ram", "value": 4096}])
    console.tags_action(res.id, "create", [{"key": "added", "value": "by-hand"}])
    _, outs, ins = fast_host.refresh(res.name, res.id, res.state, res.inputs)
    assert outs["max_ram"] == 4096.0 and outs["image_tags"] == {"added": "by-hand"}  # visible...
    assert without_provider(ins) == program  # ...but not made into inputs
    diff, _ = fast_host.preview(res.name, res.id, outs, ins, program)
    assert diff.changes == DIFF_NONE


def test_refresh_after_an_out_of_band_delete(fast_host: DynamicProviderHost, console: ImsClient) -> None:
    res = up(fast_host, "web", {"name": "web", "instance_id": SEED_ECS_ID})
    assert console.delete_image(res.id)
    response = fast_host.read(res.name, res.id, res.state, res.inputs)
    assert response.id == ""  # the engine drops the resource from state


def test_refresh_after_a_data_image_was_deleted(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    server = emu.admin.add_server(name="db", data_volumes=[{"size": 10}, {"size": 20}])
    vols = server["data_volume_ids"]
    items = [{"name": "d0", "volume_id": vols[0]}, {"name": "d1", "volume_id": vols[1]}]
    program = {"name": "db", "instance_id": server["id"], "data_images": items}
    res = up(fast_host, "db", program)
    d0, d1 = res.state["data_image_ids"]
    assert console.delete_image(d1)

    id_, outs, ins = fast_host.refresh(res.name, res.id, res.state, res.inputs)
    assert outs["data_image_ids"] == [d0] and outs["data_images"] == [items[0]]
    assert ins["data_images"] == [items[0]]
    diff, _ = fast_host.preview(res.name, id_, outs, ins, program)
    assert list(diff.replaces) == ["data_images"]  # the next up makes the set again

    assert console.delete_image(res.id)
    assert fast_host.read(res.name, res.id, outs, ins).id == ""
    assert d0 in fast_host.line_with(res.id, "no longer managed")


# --- get -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", GET_SHAPES)
def test_get_reads_an_image_made_outside_pulumi(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient, shape: str
) -> None:
    image_id = make_image(
        console,
        "made-by-hand",
        description="from the console",
        min_ram=1024,
        image_tags=[{"key": "team", "value": "web"}],
    )
    emu.admin.clear_requests()
    response = fast_host.read_for_get("ref", image_id, shape)
    outs = from_struct(response.properties)
    assert response.id == image_id
    assert outs["image_id"] == image_id and outs["status"] == "active"
    assert outs.get("applied_inputs", {}) == {}  # a get applies nothing
    assert (outs["name"], outs["description"], outs["min_ram"]) == (
        "made-by-hand",
        "from the console",
        1024.0,
    )
    assert outs["image_tags"] == {"team": "web"}
    assert outs["min_disk"] == 40.0 and outs["os_version"] == "CentOS 7.9 64bit"
    assert outs["data_origin"] == f"instance,{SEED_ECS_ID}" and outs["instance_id"] == SEED_ECS_ID
    assert from_struct(response.inputs) == {"__provider": fast_host.blob}
    assert writes(emu) == []  # a get changes nothing
    assert fast_host.read_for_get("ref", MISSING_ID, shape).id == ""


# --- adopt -----------------------------------------------------------------------------------------------


def test_adopt_an_image_made_outside_pulumi(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    image_id = make_image(
        console, "hand-made", image_tags=[{"key": "team", "value": "ops"}, {"key": "old", "value": "x"}]
    )
    emu.admin.clear_requests()
    program = {
        "existing_image_id": image_id,
        "name": "managed",
        "description": "now managed",
        "image_tags": {"team": "web"},
    }
    res = up(fast_host, "adopted", program)
    assert res.id == image_id
    assert emu.admin.requests(method="POST", path=CREATE_PATH) == []
    live = images(emu)[image_id]
    assert (live["name"], live["__description"], live[CLAIM_ATTRIBUTE]) == (
        "managed",
        "now managed",
        image_id,
    )
    assert live_tags(console, image_id) == {"team": "web"}
    assert res.state["existing_image_id"] == image_id and res.state["status"] == "active"
    assert "job_id" not in res.state and res.state["data_image_ids"] == []
    diff, _ = fast_host.preview(res.name, res.id, res.state, res.inputs, program)
    assert diff.changes == DIFF_NONE

    fast_host.delete(res.name, res.id, res.state)  # adopted means managed: destroy deletes it
    assert image_id not in images(emu)


def test_adopt_waits_for_an_image_still_being_made(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    emu.admin.update_settings(job_seconds=1.0)
    job_id = console.create_image({"name": "in-progress", "instance_id": SEED_ECS_ID})
    image_id = str(console.get_job(job_id)["entities"]["image_id"])
    assert images(emu)[image_id]["status"] in ("queued", "saving")
    res = up(fast_host, "adopted", {"existing_image_id": image_id, "min_ram": 2048})
    assert res.id == image_id and res.state["status"] == "active" and res.state["min_ram"] == 2048.0
    assert fast_host.line_with(image_id, "waiting for it to become active")


def test_adopt_refuses_what_it_cannot_manage(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    def disguised(name: str, **attrs: Any) -> str:
        image_id = make_image(console, name)
        emu.backend.images[image_id].attrs.update(attrs)  # the emulator's API only makes private images
        return image_id

    public = disguised("public", visibility="public", __imagetype="gold", owner="huawei")
    shared = disguised("shared", visibility="shared", __imagetype="shared", owner="0123456789abcdef")
    foreign = disguised("foreign", owner="0123456789abcdef")
    with_data = up(
        fast_host,
        "with-data",
        {
            "name": "sys",
            "instance_id": SEED_ECS_ID,
            "data_images": [{"name": "d", "volume_id": SEED_DATA_VOLUME_ID}],
        },
    )
    data_of_other = with_data.state["data_image_ids"][0]
    data_job = console.create_image({"data_images": [{"name": "loose", "volume_id": SEED_DATA_VOLUME_ID}]})
    while console.get_job(data_job)["status"] != "SUCCESS":
        time.sleep(0.05)
    loose_data = str(console.get_job(data_job)["entities"]["sub_jobs_result"][0]["entities"]["image_id"])
    cases = {
        MISSING_ID: ({}, "does not exist"),
        public: ({}, "is a gold image"),
        shared: ({}, "is a shared image"),
        foreign: ({}, "belongs to project 0123456789abcdef"),
        data_of_other: ({}, f"is a data image of the PrivateImage with ID {with_data.id}"),
        loose_data: ({"name": "renamed"}, "IMG.0168"),
    }
    emu.admin.clear_requests()
    for image_id, (extra, message) in cases.items():
        inputs = fast_host.checked("adopt", {"existing_image_id": image_id, **extra})
        with pytest.raises(grpc.RpcError) as failed:
            fast_host.create("adopt", inputs)
        assert message in failed.value.details(), (image_id, failed.value.details())
    assert writes(emu) == []


def test_switching_to_another_existing_image_replaces(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    """Another existing_image_id is a replacement: the engine adopts the new image, then deletes the old."""
    first, second = make_image(console, "first"), make_image(console, "second")
    res = up(fast_host, "img", {"existing_image_id": first})
    diff, news = fast_host.preview(res.name, res.id, res.state, res.inputs, {"existing_image_id": second})
    assert list(diff.replaces) == ["existing_image_id"] and diff.deleteBeforeReplace is False
    new_id, _ = fast_host.create(res.name, news)
    fast_host.delete(res.name, res.id, res.state)
    assert new_id == second and first not in images(emu) and second in images(emu)


def test_adopting_an_image_another_resource_made_warns(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    """Allowed (it is how an image moves between stacks), but said out loud: two resources may manage it."""
    made = up(fast_host, "maker", {"name": "shared", "instance_id": SEED_ECS_ID})
    before = len(fast_host.lines)
    adopted = up(fast_host, "taker", {"existing_image_id": made.id})
    assert adopted.id == made.id
    assert (
        fast_host.line_with("marked as made by a PrivateImage", made.id, within=10)
        in fast_host.lines[before:]
    )


@pytest.mark.parametrize(
    "program",
    [
        {"name": "web", "instance_id": SEED_ECS_ID, "image_tags": {"team": "web"}},
        {"data_images": [{"name": "d", "volume_id": SEED_DATA_VOLUME_ID, "tags": ["team.web"]}]},
    ],
    ids=["system image", "data images only"],
)
def test_the_first_refresh_after_create_finds_nothing_changed(
    fast_host: DynamicProviderHost, program: dict[str, Any]
) -> None:
    """The outputs are read after the claim (which touches the image), so updated_at does not move."""
    res = up(fast_host, "fresh", program)
    _, outs, ins = fast_host.refresh(res.name, res.id, res.state, res.inputs)
    assert outs == res.state
    diff, _ = fast_host.preview(res.name, res.id, outs, ins, program)
    assert diff.changes == DIFF_NONE
