"""Recovery never answers with a different image, outputs say what IMS has, and every image of a job is
tracked: through the real dynamic provider host, the host killed mid-wait where the defect needed it."""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest

from ims_provider.emulator.fixtures import MULTIDISK_DATA_VOLUME_IDS, MULTIDISK_ECS_ID
from ims_provider.emulator.server import EmulatorServer
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost
from tests.engine.support import DIFF_NONE
from tests.reliability.conftest import HOST_EXTRA
from tests.reliability.support import (
    OBS_FILE,
    OS_VOLUME,
    attempt,
    claim,
    client_for,
    create_posts,
    images,
    kill_mid_wait,
    wait_until,
)

KEY_36 = "k" * 35 + "."  # 36 characters, ending in a dot


def test_interrupted_import_rerun_with_other_min_disk_and_key_makes_a_new_matching_image(
    emu: EmulatorServer,
) -> None:
    """The defect: the re-run adopted the unencrypted 40 GB image and claimed min_disk 100 and the key."""
    emu.admin.update_settings(job_seconds=4.0)
    config = stack_config(emu.url, **HOST_EXTRA)
    program = {"name": "imported", "image_url": OBS_FILE, "min_disk": 40}
    kill_mid_wait(emu, config, "imported", program)
    [earlier] = images(emu)

    changed = {**program, "min_disk": 100, "cmk_id": "kms-key-0001"}
    with DynamicProviderHost(config) as second:
        inputs = second.checked("imported", changed)
        rid, state = second.create("imported", inputs)
        warning = second.line_with("warning", earlier)

    assert rid != earlier and len(create_posts(emu)) == 2
    made = images(emu)[rid]
    assert (made["min_disk"], made["__system__cmkid"]) == (100, "kms-key-0001")
    assert (state["min_disk"], state["cmk_id"]) == (100.0, "kms-key-0001")
    assert claim(emu, made) == rid
    left = images(emu)[earlier]
    assert (left["min_disk"], left.get("__system__cmkid")) == (40, None) and claim(emu, left) is None
    assert "min_disk" in warning and "cmk_id" in warning and "left alone" in warning

    with DynamicProviderHost(config) as third:  # refresh keeps the truth, and proposes nothing
        _, outs, ins = third.refresh("imported", rid, state, inputs)
        assert (outs["min_disk"], outs["cmk_id"]) == (100.0, "kms-key-0001")
        diff, _ = third.preview("imported", rid, outs, ins, changed)
        assert diff.changes == DIFF_NONE


@pytest.mark.parametrize(
    ("attribute", "earlier", "now"),
    [
        ("type", "BMS", None),  # left out now: IMS's default, an ECS image
        ("architecture", "arm", None),
        ("hw_firmware_type", "uefi", "bios"),
        ("os_type", "Windows", "Linux"),
        ("enterprise_project_id", "0", "7c8e1f2a-3b4c-4d5e-8f90-1a2b3c4d5e6f"),
    ],
)
def test_an_earlier_image_that_differs_in_a_creation_input_is_not_adopted(
    emu: EmulatorServer, attribute: str, earlier: str, now: str | None
) -> None:
    """Each creation-only input IMS reports decides too, set or left to IMS's default."""
    emu.admin.update_settings(job_seconds=4.0)
    config = stack_config(emu.url, **HOST_EXTRA)
    program: dict[str, Any] = {"name": f"diff-{attribute}", "image_url": OBS_FILE, "min_disk": 40}
    kill_mid_wait(emu, config, program["name"], {**program, attribute: earlier})
    [first] = images(emu)
    if now is not None:
        program[attribute] = now
    with DynamicProviderHost(config) as second:
        rid, _ = second.create(program["name"], second.checked(program["name"], program))
        second.line_with("warning", first, attribute)
    assert rid != first and len(create_posts(emu)) == 2


def test_dotted_chinese_and_36_character_tag_keys_survive_an_interruption(emu: EmulatorServer) -> None:
    """IMS allows dots in a key; its image body lists tags as "key.value", so recovery must not read that."""
    emu.admin.update_settings(job_seconds=4.0)
    config = stack_config(emu.url, **HOST_EXTRA)
    tags = {"app.tier": "web.front", "环境": "生产", KEY_36: "v"}
    program = {"name": "tagged", "image_url": OBS_FILE, "min_disk": 40, "image_tags": tags}
    job_id = kill_mid_wait(emu, config, "tagged", program)

    with DynamicProviderHost(config) as second:
        rid, state = second.create("tagged", second.checked("tagged", program))

    live = images(emu)
    assert len(create_posts(emu)) == 1 and list(live) == [rid]
    assert emu.admin.state()["images"][0]["job_id"] == job_id
    assert claim(emu, live[rid]) == rid
    assert state["image_tags"] == tags


@pytest.mark.parametrize("report", ["data_images", "none"])
def test_ecs_job_that_does_not_name_its_data_images_still_tracks_and_deletes_them(
    emu: EmulatorServer, report: str
) -> None:
    emu.admin.update_settings(job_seconds=1.0, data_image_report=report)
    config = stack_config(emu.url, **HOST_EXTRA)
    program = {
        "name": "multi",
        "instance_id": MULTIDISK_ECS_ID,
        "data_images": [
            {"name": f"multi-d{i}", "volume_id": v} for i, v in enumerate(MULTIDISK_DATA_VOLUME_IDS)
        ],
    }
    with DynamicProviderHost(config) as host:
        inputs = host.checked("multi", program)
        rid, state = host.create("multi", inputs)
        live = images(emu)
        assert len(live) == 3 and {rid, *state["data_image_ids"]} == set(live)
        origins = [live[i]["__data_origin"] for i in state["data_image_ids"]]
        assert origins == [f"volume,{v}" for v in MULTIDISK_DATA_VOLUME_IDS]  # request order
        assert all(claim(emu, image) == rid for image in live.values())
        host.delete("multi", rid, state)
    assert images(emu) == {}


def test_a_job_whose_data_image_cannot_be_found_fails_and_cleans_up(emu: EmulatorServer) -> None:
    """The job does not name its data image, and someone retags that image while the job runs: nothing
    proves it is this request's, so the create fails, deletes what it made, and names the image it left."""
    emu.admin.update_settings(job_seconds=2.0, data_image_report="none")
    config = stack_config(emu.url, **HOST_EXTRA)
    volume = MULTIDISK_DATA_VOLUME_IDS[0]
    program = {
        "name": "lost",
        "instance_id": MULTIDISK_ECS_ID,
        "data_images": [{"name": "lost-d0", "volume_id": volume, "image_tags": {"team": "a"}}],
    }
    console = client_for(emu)
    with DynamicProviderHost(config) as host:
        inputs = host.checked("lost", program)
        outcome: list[Any] = []
        call = threading.Thread(target=lambda: outcome.append(attempt(host.create, "lost", inputs)))
        call.start()
        wait_until(lambda: len(images(emu)) == 2, 30, "the job made its images")
        [data_id] = [i for i, img in images(emu).items() if img["virtual_env_type"] == "DataImage"]
        console.tags_action(data_id, "create", [{"key": "team", "value": "b"}])
        call.join(timeout=60)
    [error] = outcome
    assert isinstance(error, grpc.RpcError)
    details = error.details()  # type: ignore[attr-defined]
    assert "IncompleteJobError" in details and "lost-d0" in details and data_id in details
    assert "run `pulumi up` again" in details
    assert list(images(emu)) == [data_id]  # the system image is gone; the retagged one was left, named


def test_outputs_say_what_ims_has_and_refresh_proposes_no_replacement(host: DynamicProviderHost) -> None:
    """From a data disk IMS uses the OS it detects there (the seed), not the requested os_version."""
    program = {
        "name": "from-disk",
        "volume_id": OS_VOLUME,
        "os_version": "Ubuntu 22.04 server 64bit",
        "type": "ECS",
    }
    inputs = host.checked("from-disk", program)
    rid, state = host.create("from-disk", inputs)
    assert state["os_version"] == "CentOS 7.0 64bit"  # what IMS holds
    assert state["applied_inputs"]["os_version"] == "Ubuntu 22.04 server 64bit"  # what diff compares with
    assert state["type"] == "ECS" and state["image_type"] == "FusionCompute"  # the program's word for it
    _, outs, ins = host.refresh("from-disk", rid, state, inputs)
    assert outs["os_version"] == "CentOS 7.0 64bit" and ins["os_version"] == "Ubuntu 22.04 server 64bit"
    diff, _ = host.preview("from-disk", rid, outs, ins, program)
    assert diff.changes == DIFF_NONE
