"""Preview, in-place update and replacement through the real dynamic provider host, as the engine drives them.

Every expectation about what reached IMS is read from the emulator's request log.
"""

from __future__ import annotations

from typing import Any

from pulumi.output import UNKNOWN, Unknown

from ims_provider.client import ImsClient
from ims_provider.emulator.fixtures import SEED_DATA_VOLUME_ID, SEED_ECS_ID, SEED_OS_VOLUME_ID
from ims_provider.emulator.server import EmulatorServer
from ims_provider.recovery import CLAIM_TAG
from tests.engine.host import DynamicProviderHost
from tests.engine.support import DIFF_NONE, DIFF_SOME, images, live_tags, up, update, writes


def patch_path(image_id: str) -> str:
    return f"/v2/cloudimages/{image_id}"


def tags_path(emu: EmulatorServer, image_id: str) -> str:
    return f"/v2/{emu.project_id}/images/{image_id}/tags/action"


# --- preview ---------------------------------------------------------------------------------------------


def test_preview_with_unknowns(fast_host: DynamicProviderHost, emu: EmulatorServer) -> None:
    """Values another resource has yet to compute: an update where the input is updatable, a replacement
    listing exactly that input where it is not. Preview calls no IMS API."""
    program: dict[str, Any] = {
        "name": "web",
        "instance_id": SEED_ECS_ID,
        "image_tags": {"team": "web"},
        "min_ram": 1024,
    }
    res = up(fast_host, "web", program)
    emu.admin.clear_requests()
    cases: dict[str, tuple[dict[str, Any], list[str]]] = {
        "name": ({**program, "name": UNKNOWN}, []),
        "tag value": ({**program, "image_tags": {"team": UNKNOWN}}, []),
        "whole tag set": ({**program, "image_tags": UNKNOWN}, []),
        "min_ram": ({**program, "min_ram": UNKNOWN}, []),
        "instance_id": ({**program, "instance_id": UNKNOWN}, ["instance_id"]),
        "data image volume": (
            {**program, "data_images": [{"name": "d", "volume_id": UNKNOWN}]},
            ["data_images"],
        ),
    }
    for label, (changed, replaces) in cases.items():
        diff, news = fast_host.preview(res.name, res.id, res.state, res.inputs, changed)
        assert diff.changes == DIFF_SOME, label
        assert list(diff.replaces) == replaces, label
        assert diff.deleteBeforeReplace is False, label
    assert isinstance(news["data_images"][0]["volume_id"], Unknown)  # the unknown survived Check

    # A new resource whose source is still unknown passes Check (the engine does not Diff a new one).
    response = fast_host.check("new", {"name": "new", "instance_id": UNKNOWN})
    assert list(response.failures) == []
    assert emu.admin.requests() == []


def test_same_program_in_other_forms_is_no_change(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    """Engine doubles, tag order and form, and timeouts are not changes; nor is a refresh without drift."""
    program: dict[str, Any] = {
        "name": "web",
        "description": "golden",
        "instance_id": SEED_ECS_ID,
        "image_tags": {"team": "web", "tier": "1"},
        "min_ram": 1024,
        "max_ram": 4096,
    }
    res = up(fast_host, "web", program)
    assert res.state["min_ram"] == 1024.0 and res.state["max_ram"] == 4096.0
    id_, outs, ins = fast_host.refresh(res.name, res.id, res.state, res.inputs)
    emu.admin.clear_requests()
    same = {
        "as written": program,
        "as doubles": {**program, "min_ram": 1024.0, "max_ram": 4096.0},
        "tags as pairs": {
            **program,
            "image_tags": [{"key": "tier", "value": "1"}, {"key": "team", "value": "web"}],
        },
        "timeouts only": {**program, "timeouts": {"create": "2h", "delete": "30m"}},
    }
    for label, changed in same.items():
        for state, inputs in ((res.state, res.inputs), (outs, ins)):
            diff, _ = fast_host.preview(res.name, id_, state, inputs, changed)
            assert diff.changes == DIFF_NONE, label
    assert emu.admin.requests() == []  # nothing was asked of IMS, so no Update was needed


def test_every_creation_only_input_forces_a_replacement(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    emu.admin.add_object(bucket="media", key="sys.zvhd2")
    program: dict[str, Any] = {
        "name": "imported",
        "image_url": "media:sys.zvhd2",
        "min_disk": 40,
        "os_version": "CentOS 7.9 64bit",
        "is_quick_import": True,
    }
    res = up(fast_host, "imported", program)
    assert res.state["min_disk"] == 40.0
    diff, _ = fast_host.preview(res.name, res.id, res.state, res.inputs, {**program, "min_disk": 40.0})
    assert diff.changes == DIFF_NONE
    changes = {
        "min_disk": 41,
        "image_url": "media:other.zvhd2",
        "os_version": "Ubuntu 22.04 server 64bit",
        "is_quick_import": False,
        "cmk_id": "kms-key-1",
        "type": "ECS",
        "architecture": "x86",
        "hw_firmware_type": "bios",
        "is_config": True,
        "os_type": "Linux",
        "enterprise_project_id": "9f5b8a1c-2d3e-4f50-8a6b-7c8d9e0f1a2b",
    }
    for key, value in changes.items():
        diff, _ = fast_host.preview(res.name, res.id, res.state, res.inputs, {**program, key: value})
        assert (diff.changes, list(diff.replaces)) == (DIFF_SOME, [key]), key
    # "0" is the default enterprise project: writing it out is no change.
    diff, _ = fast_host.preview(
        res.name, res.id, res.state, res.inputs, {**program, "enterprise_project_id": "0"}
    )
    assert diff.changes == DIFF_NONE
    other_source = {"name": "imported", "volume_id": SEED_OS_VOLUME_ID, "os_version": "CentOS 7.9 64bit"}
    diff, _ = fast_host.preview(res.name, res.id, res.state, res.inputs, other_source)
    assert {"image_url", "volume_id", "min_disk", "is_quick_import"} <= set(diff.replaces)
    renamed_and_bigger = {**program, "name": "imported-2", "min_disk": 60}
    diff, _ = fast_host.preview(res.name, res.id, res.state, res.inputs, renamed_and_bigger)
    assert list(diff.replaces) == ["min_disk"]


# --- replace ---------------------------------------------------------------------------------------------


def test_replace_creates_the_new_image_then_deletes_the_old(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    server = emu.admin.add_server(name="web-2")
    program = {"name": "web", "instance_id": SEED_ECS_ID}
    old = up(fast_host, "web", program)
    diff, news = fast_host.preview(
        old.name, old.id, old.state, old.inputs, {**program, "instance_id": server["id"]}
    )
    assert list(diff.replaces) == ["instance_id"] and diff.deleteBeforeReplace is False
    # delete_before_replace is False: the engine creates the replacement, then deletes the old image.
    new_id, new_state = fast_host.create(old.name, news)
    assert new_id != old.id and {old.id, new_id} <= set(images(emu))
    assert new_state["data_origin"] == f"instance,{server['id']}"
    fast_host.delete(old.name, old.id, old.state)
    assert set(images(emu)) == {new_id}


# --- update ----------------------------------------------------------------------------------------------


def test_update_in_place_with_the_smallest_change(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    program = {
        "name": "web",
        "description": "v1",
        "instance_id": SEED_ECS_ID,
        "min_ram": 1024,
        "image_tags": {"a": "1", "b": "2", "c": "3"},
    }
    res = up(fast_host, "web", program)
    emu.admin.clear_requests()
    changed = {
        "name": "web-v2",
        "instance_id": SEED_ECS_ID,
        "min_ram": 2048,
        "max_ram": 8192,
        "image_tags": {"a": "1", "b": "20", "d": "4"},
    }
    after = update(fast_host, res, changed)

    path, tags = patch_path(res.id), tags_path(emu, res.id)
    assert writes(emu) == [
        ("PATCH", path, [{"op": "replace", "path": "/name", "value": "web-v2"}], 200),
        ("PATCH", path, [{"op": "remove", "path": "/__description"}], 200),
        # min_ram rises, so max_ram goes first; the image has no max_ram yet: IMG.0035, then "add"
        ("PATCH", path, [{"op": "replace", "path": "/max_ram", "value": 8192}], 400),
        ("PATCH", path, [{"op": "add", "path": "/max_ram", "value": 8192}], 200),
        ("PATCH", path, [{"op": "replace", "path": "/min_ram", "value": 2048}], 200),
        ("POST", tags, {"action": "delete", "tags": [{"key": "c", "value": "3"}]}, 204),
        (
            "POST",
            tags,
            {"action": "create", "tags": [{"key": "b", "value": "20"}, {"key": "d", "value": "4"}]},
            204,
        ),
    ]
    live = images(emu)[res.id]
    assert (live["name"], live["min_ram"], live["max_ram"]) == ("web-v2", 2048, "8192")
    assert "__description" not in live
    state = after.state
    assert state["image_id"] == res.id and state["status"] == "active"
    assert state["job_id"] == res.state["job_id"] and state["created_at"] == res.state["created_at"]
    assert (state["name"], state["min_ram"], state["max_ram"]) == ("web-v2", 2048.0, 8192.0)
    assert state["image_tags"] == {"a": "1", "b": "20", "d": "4"} and "description" not in state
    assert sorted(state["applied_inputs"]) == ["image_tags", "instance_id", "max_ram", "min_ram", "name"]
    assert state["disk_format"] and state["min_disk"] == 40.0 and state["os_version"]
    diff, _ = fast_host.preview(res.name, res.id, after.state, after.inputs, changed)
    assert diff.changes == DIFF_NONE


def test_lowering_ram_bounds_moves_min_ram_first(fast_host: DynamicProviderHost, emu: EmulatorServer) -> None:
    program = {"name": "web", "instance_id": SEED_ECS_ID, "min_ram": 2048, "max_ram": 4096}
    res = up(fast_host, "web", program)
    emu.admin.clear_requests()
    after = update(fast_host, res, {**program, "min_ram": 512, "max_ram": 1024})
    path = patch_path(res.id)
    assert writes(emu) == [
        ("PATCH", path, [{"op": "replace", "path": "/min_ram", "value": 512}], 200),
        ("PATCH", path, [{"op": "replace", "path": "/max_ram", "value": 1024}], 200),
    ]
    emu.admin.clear_requests()
    update(fast_host, after, {"name": "web", "instance_id": SEED_ECS_ID})  # unmanage both: back to defaults
    assert writes(emu) == [
        ("PATCH", path, [{"op": "replace", "path": "/min_ram", "value": 0}], 200),
        ("PATCH", path, [{"op": "remove", "path": "/max_ram"}], 200),
    ]


def test_removing_a_description_that_is_already_gone(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    res = up(fast_host, "web", {"name": "web", "description": "v1", "instance_id": SEED_ECS_ID})
    console.update_image(res.id, [{"op": "remove", "path": "/__description"}])
    emu.admin.clear_requests()
    after = update(fast_host, res, {"name": "web", "instance_id": SEED_ECS_ID})
    assert writes(emu) == [("PATCH", patch_path(res.id), [{"op": "remove", "path": "/__description"}], 400)]
    assert "description" not in after.state and after.state["status"] == "active"


def test_moving_tags_between_inputs_writes_nothing(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    res = up(fast_host, "web", {"name": "web", "instance_id": SEED_ECS_ID, "tags": ["team.web", "tier.1"]})
    assert sorted(res.state["tags"]) == ["team.web", "tier.1"]
    emu.admin.clear_requests()
    moved = {"name": "web", "instance_id": SEED_ECS_ID, "image_tags": {"team": "web", "tier": "1"}}
    after = update(fast_host, res, moved)
    assert writes(emu) == []
    assert after.state["image_tags"] == {"team": "web", "tier": "1"} and "tags" not in after.state
    as_pairs = {**moved, "image_tags": [{"key": "tier", "value": "1"}, {"key": "team", "value": "web"}]}
    diff, _ = fast_host.preview(res.name, res.id, after.state, after.inputs, as_pairs)
    assert diff.changes == DIFF_NONE


def test_naming_the_resource_own_image_is_not_a_replacement(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    """A replacement would adopt the image and then delete it: the switch is an update that writes nothing."""
    res = up(fast_host, "web", {"name": "web", "instance_id": SEED_ECS_ID})
    emu.admin.clear_requests()
    after = update(fast_host, res, {"name": "web", "existing_image_id": res.id})
    assert writes(emu) == []
    assert after.state["existing_image_id"] == res.id and after.state["status"] == "active"
    assert res.id in images(emu)


# --- data images -----------------------------------------------------------------------------------------


def test_data_images_get_their_tag_changes_and_are_never_patched(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    server = emu.admin.add_server(name="db", data_volumes=[{"size": 10}, {"size": 20}])
    vols = server["data_volume_ids"]
    items = [
        {"name": "d0", "volume_id": vols[0], "tags": ["k.0"]},
        {"name": "d1", "volume_id": vols[1], "image_tags": {"k": "1"}},
    ]
    program = {"name": "db", "instance_id": server["id"], "data_images": items}
    res = up(fast_host, "db", program)
    d0, d1 = res.state["data_image_ids"]
    claims_before = {t["key"] for t in console.list_tags(d1)} & {CLAIM_TAG}
    emu.admin.clear_requests()
    changed = {
        **program,
        "name": "db-v2",
        "data_images": [items[0], {**items[1], "image_tags": {"k": "2", "n": "x"}}],
    }
    after = update(fast_host, res, changed)

    assert {path for method, path, _, _ in writes(emu) if method == "PATCH"} == {patch_path(res.id)}
    assert [(path, body) for method, path, body, _ in writes(emu) if method == "POST"] == [
        (
            tags_path(emu, d1),
            {"action": "create", "tags": [{"key": "k", "value": "2"}, {"key": "n", "value": "x"}]},
        )
    ]
    assert live_tags(console, d1) == {"k": "2", "n": "x"} and live_tags(console, d0) == {"k": "0"}
    assert {t["key"] for t in console.list_tags(d1)} & {CLAIM_TAG} == claims_before  # the claim survives
    assert after.state["data_images"][1]["image_tags"] == {"k": "2", "n": "x"}
    _, outs, ins = fast_host.refresh(res.name, res.id, after.state, after.inputs)
    assert (
        outs["data_images"] == after.state["data_images"] and ins["data_images"] == after.state["data_images"]
    )

    renamed = {**changed, "data_images": [{**items[0], "name": "d0-renamed"}, changed["data_images"][1]]}
    diff, _ = fast_host.preview(res.name, res.id, after.state, after.inputs, renamed)
    assert list(diff.replaces) == ["data_images"]  # IMS cannot rename a data image (IMG.0168)


def test_data_images_only_resource_is_retagged_without_patch(
    fast_host: DynamicProviderHost, emu: EmulatorServer, console: ImsClient
) -> None:
    item = {"name": "only", "volume_id": SEED_DATA_VOLUME_ID, "image_tags": {"k": "1"}}
    res = up(fast_host, "only", {"data_images": [item]})
    assert res.state["data_image_ids"] == [res.id] and res.state["image_type"] == "DataImage"
    emu.admin.clear_requests()
    after = update(fast_host, res, {"data_images": [{**item, "image_tags": {"k": "2"}}]})
    assert writes(emu) == [
        ("POST", tags_path(emu, res.id), {"action": "create", "tags": [{"key": "k", "value": "2"}]}, 204)
    ]
    assert live_tags(console, res.id) == {"k": "2"}
    assert after.state["data_images"] == [{**item, "image_tags": {"k": "2"}}]


def test_update_waits_for_an_image_that_is_not_active(
    fast_host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    program = {"name": "web", "instance_id": SEED_ECS_ID}
    res = up(fast_host, "web", program)
    emu.admin.clear_requests()
    emu.admin.add_fault(
        kind="status", status=400, error_code="IMG.0046", method="PATCH", path=patch_path(res.id), count=1
    )
    after = update(fast_host, res, {**program, "name": "web-2"})
    op = [{"op": "replace", "path": "/name", "value": "web-2"}]
    assert writes(emu) == [("PATCH", patch_path(res.id), op, 400), ("PATCH", patch_path(res.id), op, 200)]
    assert after.state["name"] == "web-2"
