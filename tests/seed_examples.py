"""The 8 example requests of the seed API page, verbatim (example 2 lacks its opening brace there)."""

from __future__ import annotations

import json
from typing import Any

_RAW = {
    "ecs_system_tags": """{ "name": "ims_test", "description": "Create a system disk image from an ECS",
        "instance_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }""",
    "ecs_data_tags": """{ "data_images": [{"name": "ims_data_image_test",
        "description": "Create a data disk image from the data disk of an ECS",
        "volume_id": "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30", "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }] }""",
    "obs_tags": """{ "name": "ims_test_file", "description": "Create an image from a file in the OBS bucket",
        "image_url": "ims-image:centos70.qcow2", "os_version": "CentOS 7.0 64bit", "is_config_init": true,
        "min_disk": 40, "is_config": true, "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }""",
    "ecs_system_image_tags": """{ "name": "ims_test", "description": "Create a system disk image from an ECS",
        "instance_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a",
        "image_tags": [ { "key": "key2", "value": "value2" }, { "key": "key1", "value": "value1" } ] }""",
    "ecs_data_image_tags": """{ "data_images": [{"name": "ims_data_image_test",
        "description": "Create a data disk image from the data disk of an ECS",
        "volume_id": "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30",
        "image_tags": [{"key":"key2","value":"value2"},{"key":"key1","value":"value1"}] }] }""",
    "obs_image_tags": """{ "name": "ims_test_file", "description": "Create an image from a file in the OBS bucket",
        "image_url": "ims-image:centos70.qcow2", "os_version": "CentOS 7.0 64bit", "is_config_init": true,
        "min_disk": 40, "image_tags": [{"key":"key2","value":"value2"},{"key":"key1","value":"value1"}] }""",
    "volume_system_tags": """{ "name": "ims_test", "description": "Create a system disk image from a data disk",
        "volume_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "type": "ECS", "os_version": "CentOS 7.0 64bit",
        "tags": [ "aaa.111", "bbb.333", "ccc.444" ] }""",
    "volume_system_image_tags": """{ "name": "ims_test",
        "description": "Create a system disk image from a data disk",
        "volume_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a", "type": "ECS", "os_version": "CentOS 7.0 64bit",
        "image_tags": [{"key":"key2","value":"value2"},{"key":"key1","value":"value1"}] }""",
}

SEED_REQUESTS: dict[str, dict[str, Any]] = {name: json.loads(text) for name, text in _RAW.items()}
