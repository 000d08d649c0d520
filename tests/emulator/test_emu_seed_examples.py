"""The seed spec's eight example requests, as written, succeed against a fresh emulator."""

from __future__ import annotations

import json

import pytest
from emu_support import Ims

# Verbatim from the seed (example 2 is truncated there; it is the data_images body of example 5 with tags).
EXAMPLES = [
    """{ "name": "ims_test", "description": "Create a system disk image from an ECS", "instance_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }""",  # noqa: E501
    """{"data_images": [{"name": "ims_data_image_test", "description": "Create a data disk image from the data disk of an ECS", "volume_id": "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30", "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }] }""",  # noqa: E501
    """{ "name": "ims_test_file", "description": "Create an image from a file in the OBS bucket", "image_url": "ims-image:centos70.qcow2", "os_version": "CentOS 7.0 64bit", "is_config_init": true, "min_disk": 40, "is_config": true, "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }""",  # noqa: E501
    """{ "name": "ims_test", "description": "Create a system disk image from an ECS", "instance_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "image_tags": [ { "key": "key2", "value": "value2" }, { "key": "key1", "value": "value1" } ] }""",  # noqa: E501
    """{ "data_images": [{"name": "ims_data_image_test", "description": "Create a data disk image from the data disk of an ECS", "volume_id": "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30", "image_tags": [{"key":"key2","value":"value2"},{"key":"key1","value":"value1"}] }] }""",  # noqa: E501
    """{ "name": "ims_test_file", "description": "Create an image from a file in the OBS bucket", "image_url": "ims-image:centos70.qcow2", "os_version": "CentOS 7.0 64bit", "is_config_init": true, "min_disk": 40, "image_tags": [{"key":"key2","value":"value2"},{"key":"key1","value":"value1"}] }""",  # noqa: E501
    """{ "name": "ims_test", "description": "Create a system disk image from a data disk", "volume_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "type": "ECS", "os_version": "CentOS 7.0 64bit", "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }""",  # noqa: E501
    """{ "name": "ims_test", "description": "Create a system disk image from a data disk", "volume_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "type": "ECS", "os_version": "CentOS 7.0 64bit", "image_tags": [{"key":"key2","value":"value2"},{"key":"key1","value":"value1"}] }""",  # noqa: E501
]
EXPECTED_TAGS = [["aaa.111", "bbb.333", "ccc.444"], ["key2.value2", "key1.value1"]]


@pytest.mark.parametrize("index", range(8), ids=[f"example{i + 1}" for i in range(8)])
def test_seed_example_succeeds(mims: Ims, index: int) -> None:
    response = mims.post(
        "/v2/cloudimages/action",
        data=EXAMPLES[index].encode(),
        headers={"Content-Type": "application/json;charset=UTF-8"},
    )
    assert response.status_code == 200, response.text
    job = mims.wait(response.json()["job_id"])
    assert job["status"] == "SUCCESS"
    entities = job["entities"]
    image_id = entities.get("image_id") or entities["sub_jobs_result"][0]["entities"]["image_id"]
    image = mims.image(image_id)
    body = json.loads(EXAMPLES[index])
    source = body["data_images"][0] if "data_images" in body else body
    assert image is not None and image["status"] == "active"
    assert image["name"] == source["name"] and image["__description"] == source["description"]
    assert image["tags"] in EXPECTED_TAGS


def test_fresh_emulator_lists_the_seeded_resources(mims: Ims) -> None:
    state = mims.admin.state()
    server = next(s for s in state["servers"] if s["id"] == "877a2cda-ba63-4e1e-b95f-e67e48b6129a")
    assert (
        server["status"] == "SHUTOFF" and "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30" in server["data_volume_ids"]
    )
    volume = next(v for v in state["volumes"] if v["id"] == "877a2cda-ba63-4e1e-b95f-e67e48b6129a")
    assert volume["os_version"] and volume["server_id"] is None
    obj = next(o for o in state["objects"] if o["url"] == "ims-image:centos70.qcow2")
    assert obj["storage_class"] == "STANDARD"
