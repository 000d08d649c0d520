"""The resources a fresh emulator holds, and loading of `--fixtures` files.

The defaults make each of the seed spec's eight example requests succeed as written, and add a few
resources whose only purpose is to provoke specific IMS errors (a running ECS, a WARM object, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEED_ECS_ID = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"
SEED_ECS_SYSTEM_VOLUME_ID = "5b7e1ac0-0c6f-4c55-9e08-5b2f6c1d3a01"
SEED_DATA_VOLUME_ID = "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30"
SEED_OS_VOLUME_ID = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"
RUNNING_ECS_ID = "3f1c2b7a-6d5e-4c3b-8a29-1e0f9d8c7b6a"
RUNNING_ECS_DATA_VOLUME_ID = "7d9e1f20-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
MULTIDISK_ECS_ID = "d2c4e6f8-0a1b-4c3d-9e5f-6a7b8c9d0e1f"
MULTIDISK_DATA_VOLUME_IDS = ("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e")
DETACHED_VOLUME_ID = "e0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f607"
SEED_OBJECT_URL = "ims-image:centos70.qcow2"
QUICK_IMPORT_OBJECT_URL = "ims-image:ubuntu2204.zvhd2"
DATA_OBJECT_URLS = (
    "ims-image:data-disk-1.qcow2",
    "ims-image:data-disk-2.qcow2",
    "ims-image:data-disk-3.qcow2",
)
ISO_OBJECT_URL = "ims-image:debian12.iso"
WARM_OBJECT_URL = "ims-image:archive-warm.qcow2"

DEFAULT_FIXTURES: dict[str, Any] = {
    "description": "ims-emulator default resources",
    "servers": [
        {
            "id": SEED_ECS_ID,
            "name": "ecs-seed",
            "status": "SHUTOFF",
            "system_volume": {"id": SEED_ECS_SYSTEM_VOLUME_ID, "size": 40, "os_version": "CentOS 7.9 64bit"},
            "data_volumes": [{"id": SEED_DATA_VOLUME_ID, "size": 100}],
        },
        {
            "id": RUNNING_ECS_ID,
            "name": "ecs-running",
            "status": "ACTIVE",
            "system_volume": {"size": 40, "os_version": "Ubuntu 22.04 server 64bit"},
            "data_volumes": [{"id": RUNNING_ECS_DATA_VOLUME_ID, "size": 50}],
        },
        {
            "id": MULTIDISK_ECS_ID,
            "name": "ecs-multidisk",
            "status": "SHUTOFF",
            "system_volume": {"size": 50, "os_version": "Huawei Cloud EulerOS 2.0 64bit"},
            "data_volumes": [
                {"id": MULTIDISK_DATA_VOLUME_IDS[0], "size": 10},
                {"id": MULTIDISK_DATA_VOLUME_IDS[1], "size": 20},
            ],
        },
    ],
    "volumes": [
        {"id": SEED_OS_VOLUME_ID, "size": 40, "os_version": "CentOS 7.0 64bit"},
        {"id": DETACHED_VOLUME_ID, "size": 60},
    ],
    "objects": [
        {"bucket": "ims-image", "key": "centos70.qcow2", "size_gb": 20, "storage_class": "STANDARD"},
        {"bucket": "ims-image", "key": "ubuntu2204.zvhd2", "size_gb": 40, "storage_class": "STANDARD"},
        {"bucket": "ims-image", "key": "data-disk-1.qcow2", "size_gb": 10},
        {"bucket": "ims-image", "key": "data-disk-2.qcow2", "size_gb": 20},
        {"bucket": "ims-image", "key": "data-disk-3.qcow2", "size_gb": 30},
        {"bucket": "ims-image", "key": "debian12.iso", "size_gb": 5},
        {"bucket": "ims-image", "key": "archive-warm.qcow2", "size_gb": 20, "storage_class": "WARM"},
    ],
}


def load_fixtures_file(path: str | Path) -> dict[str, Any]:
    """Read a fixtures JSON document; ValueError when it is not a JSON object."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a fixtures file must hold a JSON object")
    return data
