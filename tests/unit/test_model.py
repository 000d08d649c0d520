"""The declarative model: what is derived from it, and what must agree with it (Args, README, emulator)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from ims_provider.emulator.backend import JOB_TYPES
from ims_provider.model import docs
from ims_provider.model.live import LiveImage
from ims_provider.model.private_image import (
    DATA_IMAGE_ENTRY,
    ECS,
    OBS,
    PATHS,
    PRIVATE_IMAGE,
    VOLUME,
    shape_of,
)
from ims_provider.model.rules import Timeouts
from ims_provider.model.schema import APPLIED
from ims_provider.resource import DataImageArgs, PrivateImage, PrivateImageArgs, TimeoutsArgs
from ims_provider.upkeep import patch_ops
from tests.rule_cases import ECS as ECS_ID
from tests.rule_cases import ecs, obs, volume

REPOSITORY = Path(__file__).resolve().parents[2]


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


# --- everything that must agree with the model ---------------------------------------------------------


def test_args_declare_exactly_the_model_inputs_in_its_order() -> None:
    assert _fields(PrivateImageArgs) == list(PRIVATE_IMAGE.input_names)
    assert sorted(_fields(DataImageArgs)) == sorted(DATA_IMAGE_ENTRY.input_names)
    assert _fields(TimeoutsArgs) == list(Timeouts.model_fields)


def test_the_resource_has_an_output_attribute_for_every_input_and_output() -> None:
    attributes = set(PrivateImage.__annotations__)
    assert set(PRIVATE_IMAGE.input_names) | set(PRIVATE_IMAGE.output_names) <= attributes


@pytest.mark.parametrize("block", sorted(docs.BLOCKS))
def test_the_docs_hold_the_tables_written_from_the_model(block: str) -> None:
    document, write = docs.BLOCKS[block]
    text = write()
    held = (REPOSITORY / document).read_text(encoding="utf-8")
    assert text in held, f"{document} is out of date; `python -m ims_provider.model.docs` prints:\n{text}"


def test_each_path_names_the_job_type_the_emulator_runs() -> None:
    kinds = {ECS: "ecs", OBS: "obs", VOLUME: "volume", "data": "data"}
    for name, kind in kinds.items():
        job, sub = JOB_TYPES[kind]
        assert PATHS[name].job_type == job
        assert PATHS[name].entry_job_type in ("", sub)


def test_what_changes_in_place_and_what_replaces_is_the_declaration() -> None:
    assert PRIVATE_IMAGE.updatable == {"name", "description", "min_ram", "max_ram", "tags", "image_tags"}
    assert "timeouts" not in PRIVATE_IMAGE.updatable | PRIVATE_IMAGE.replacing
    assert {f.name for f in PRIVATE_IMAGE.patched} == {"name", "description", "min_ram", "max_ram"}
    assert PRIVATE_IMAGE.unreported == (
        "is_config",
        "is_config_init",
        "is_quick_import",
        "data_images[].is_quick_import",
    )


# --- outputs say what IMS has; diff compares with what was applied ---------------------------------------


def _live(**attributes: Any) -> LiveImage:
    return LiveImage(
        {"id": "img-1", "status": "active", "virtual_env_type": "FusionCompute", **attributes}, tags={}
    )


def test_outputs_read_ims_and_applied_inputs_keep_the_program() -> None:
    applied = obs(min_disk=40, type="ECS", cmk_id="key-1", is_config=True)
    live = _live(min_disk=60, virtual_env_type="FusionCompute", __system__cmkid="key-1", name="imported")
    state = PRIVATE_IMAGE.state(applied, live, {})
    assert state["min_disk"] == 60  # IMS raised it
    assert state["type"] == "ECS"  # the program's word for FusionCompute
    assert state["cmk_id"] == "key-1" and state["is_config"] is True  # reported / echoed
    assert state[APPLIED]["min_disk"] == 40
    old = PRIVATE_IMAGE.applied_inputs(state)
    assert PRIVATE_IMAGE.changed(old, applied) == []


def test_a_missing_encryption_key_is_not_claimed() -> None:
    state = PRIVATE_IMAGE.state(obs(cmk_id="key-1"), _live(), {})
    assert "cmk_id" not in state and state[APPLIED]["cmk_id"] == "key-1"


def test_mutable_drift_reaches_applied_inputs_so_the_next_diff_sees_it() -> None:
    applied = ecs(description="golden", min_ram=1024, image_tags={"team": "web"})
    live = LiveImage(
        {"id": "i", "name": "renamed", "min_ram": 2048, "__data_origin": f"instance,{ECS_ID}"},
        tags={"team": "ops", "app.tier": "web"},
    )
    state = PRIVATE_IMAGE.state(applied, live, {})
    refreshed = state[APPLIED]
    assert refreshed["name"] == "renamed" and "description" not in refreshed and refreshed["min_ram"] == 2048
    assert refreshed["image_tags"] == {"team": "ops", "app.tier": "web"}
    assert refreshed["instance_id"] == ECS_ID
    assert set(PRIVATE_IMAGE.changed(PRIVATE_IMAGE.applied_inputs(state), applied)) == {
        "name",
        "description",
        "image_tags",
        "min_ram",
    }


def test_state_written_before_applied_inputs_existed_is_still_read() -> None:
    legacy = {"input_keys": ["name", "instance_id"], "name": "web", "instance_id": ECS_ID, "min_disk": 40.0}
    assert PRIVATE_IMAGE.applied_inputs(legacy) == {"name": "web", "instance_id": ECS_ID}


# --- recovery compares what IMS stores -------------------------------------------------------------------


def _origin(inputs: dict[str, Any]) -> str:
    return shape_of(inputs).primary.source


def test_dotted_tag_keys_compare_as_pairs() -> None:
    inputs = obs(image_tags={"app.tier": "web.front"})
    image = _live(name="imported", __data_origin=_origin(inputs), min_disk=40).with_tags(
        {"app.tier": "web.front", "ims-provider-claim": "x"}
    )
    assert shape_of(inputs).primary.differences(image) == []
    other = image.with_tags({"app": "tier.web.front"})
    assert [d.field for d in shape_of(inputs).primary.differences(other)] == ["tags"]


@pytest.mark.parametrize(
    ("inputs", "attributes", "differs"),
    [
        (obs(min_disk=100), {"min_disk": 40}, ["min_disk"]),
        (obs(min_disk=40), {"min_disk": 60}, []),  # IMS may raise it
        (obs(cmk_id="k"), {"min_disk": 40}, ["cmk_id"]),
        (obs(), {"min_disk": 40, "__system__cmkid": "k"}, ["cmk_id"]),  # unset: IMS's default, no key
        (obs(type="BMS"), {"min_disk": 40, "virtual_env_type": "FusionCompute"}, ["type"]),
        (obs(), {"min_disk": 40, "virtual_env_type": "Ironic"}, ["type"]),
        (obs(architecture="arm"), {"min_disk": 40, "__support_arm": "true", "hw_firmware_type": "uefi"}, []),
        (obs(), {"min_disk": 40, "__support_arm": "true"}, ["architecture"]),
        (obs(os_type="Linux"), {"min_disk": 40, "__os_type": "Windows"}, ["os_type"]),
        (obs(), {"min_disk": 40, "__os_type": "Windows"}, []),  # unset: IMS chooses
        (obs(enterprise_project_id="0"), {"min_disk": 40}, []),
        (volume(os_version="Ubuntu 22.04 server 64bit"), {"__os_version": "CentOS 7.0 64bit"}, []),
        (ecs(min_ram=0), {"min_ram": 0, "max_ram": "4096"}, ["max_ram"]),
        (ecs(description="a"), {"__description": "b"}, ["description"]),
    ],
)
def test_recovery_compares_every_reported_input(
    inputs: dict[str, Any], attributes: dict[str, Any], differs: list[str]
) -> None:
    shape = shape_of(inputs)
    image = _live(name=inputs["name"], __data_origin=shape.primary.source, **attributes)
    assert [d.field for d in shape.primary.differences(image)] == differs


def test_a_data_image_is_compared_with_its_entry_and_the_shared_project() -> None:
    inputs = ecs(
        data_images=[{"name": "d", "volume_id": "vol-1", "tags": ["a.1"]}],
        enterprise_project_id="9f5b8a1c-2d3e-4f50-8a6b-7c8d9e0f1a2b",
    )
    [extra] = shape_of(inputs).extras
    image = _live(name="d", __data_origin="volume,vol-1", virtual_env_type="DataImage").with_tags({"a": "1"})
    assert [d.field for d in extra.differences(image)] == ["enterprise_project_id"]
    same = _live(
        name="d",
        __data_origin="volume,vol-1",
        virtual_env_type="DataImage",
        enterprise_project_id="9f5b8a1c-2d3e-4f50-8a6b-7c8d9e0f1a2b",
    ).with_tags({"a": "1"})
    assert extra.differences(same) == []


# --- PATCH operations --------------------------------------------------------------------------------------


def test_patch_ops_follow_the_declared_paths_and_removals() -> None:
    old = ecs(description="d", min_ram=1024, max_ram=4096)
    new = ecs(name="renamed", min_ram=2048)
    assert patch_ops(PRIVATE_IMAGE, old, new) == [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "remove", "path": "/__description"},
        {"op": "remove", "path": "/max_ram"},  # min_ram rises: max_ram goes first
        {"op": "replace", "path": "/min_ram", "value": 2048},
    ]
    assert patch_ops(PRIVATE_IMAGE, {"name": "x"}, {}) == []  # a name is never removed
    assert patch_ops(PRIVATE_IMAGE, {"min_ram": 1024}, {}) == [
        {"op": "replace", "path": "/min_ram", "value": 0}
    ]
