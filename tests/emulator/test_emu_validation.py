"""Every create-request rule of the seed spec, rejected with HTTP 400 and the matching IMS code."""

from __future__ import annotations

from typing import Any

import pytest
from emu_support import Ims, ims_error

from ims_provider.emulator import fixtures as fx

ECS = fx.SEED_ECS_ID
DATA_VOL = fx.SEED_DATA_VOLUME_ID
OBS = fx.SEED_OBJECT_URL


def ecs(**extra: Any) -> dict[str, Any]:
    return {"name": "img", "instance_id": ECS, **extra}


def obs(**extra: Any) -> dict[str, Any]:
    return {"name": "img", "image_url": OBS, "min_disk": 40, **extra}


def vol(**extra: Any) -> dict[str, Any]:
    return {"name": "img", "volume_id": fx.SEED_OS_VOLUME_ID, "os_version": "CentOS 7.0 64bit", **extra}


def data(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"data_images": list(items), **extra}


CASES: list[tuple[str, Any, str]] = [
    # body shape
    ("empty object", {}, "IMG.0007"),
    ("unknown top-level field", ecs(colour="blue"), "IMG.0001"),
    ("no source", {"name": "img"}, "IMG.0001"),
    ("two sources", ecs(image_url=OBS, min_disk=40), "IMG.0001"),
    ("volume source plus data_images", vol(data_images=[{"name": "d", "volume_id": DATA_VOL}]), "IMG.0001"),
    ("field of another path (ECS + os_version)", ecs(os_version="CentOS 7.0 64bit"), "IMG.0001"),
    ("field of another path (volume + min_disk)", vol(min_disk=40), "IMG.0001"),
    # name
    ("name missing (ECS)", {"instance_id": ECS}, "IMG.0013"),
    ("name missing (OBS)", {"image_url": OBS, "min_disk": 40}, "IMG.0013"),
    (
        "name missing (volume)",
        {"volume_id": fx.SEED_OS_VOLUME_ID, "os_version": "CentOS 7.0 64bit"},
        "IMG.0013",
    ),
    ("name empty", ecs(name=""), "IMG.0013"),
    ("name 129 characters", ecs(name="a" * 129), "IMG.0002"),
    ("name leading space", ecs(name=" img"), "IMG.0003"),
    ("name trailing space", ecs(name="img "), "IMG.0003"),
    ("name bad character", ecs(name="img/1"), "IMG.0003"),
    ("name not a string", ecs(name=5), "IMG.0003"),
    ("data image name bad", data({"name": "a*b", "volume_id": DATA_VOL}), "IMG.0003"),
    ("data image name missing", data({"volume_id": DATA_VOL}), "IMG.0013"),
    # description
    ("description 1025 characters", ecs(description="d" * 1025), "IMG.0004"),
    ("description with <", ecs(description="a <b>"), "IMG.0054"),
    ("description with carriage return", ecs(description="a\rb"), "IMG.0054"),
    # tags
    ("tags and image_tags together", ecs(tags=["a.1"], image_tags=[{"key": "b", "value": "2"}]), "IMG.0001"),
    ("eleven tags", ecs(tags=[f"k{i}.v" for i in range(11)]), "IMG.0116"),
    ("eleven image_tags", ecs(image_tags=[{"key": f"k{i}", "value": "v"} for i in range(11)]), "IMG.0116"),
    ("tag key 37 characters", ecs(image_tags=[{"key": "k" * 37, "value": "v"}]), "IMG.0115"),
    ("tag value 44 characters", ecs(image_tags=[{"key": "k", "value": "v" * 44}]), "IMG.0115"),
    ("tag key blank", ecs(image_tags=[{"key": "  ", "value": "v"}]), "IMG.0115"),
    ("old-style tag bad character", ecs(tags=["a$.1"]), "IMG.0115"),
    ("old-style tag empty key", ecs(tags=[".1"]), "IMG.0115"),
    ("duplicate tag keys", ecs(tags=["a.1", "a.2"]), "IMG.0115"),
    ("tags not a list", ecs(tags="a.1"), "IMG.0115"),
    # enterprise project, ram
    ("enterprise_project_id not 0 or UUID", ecs(enterprise_project_id="default"), "IMG.0154"),
    ("min_ram negative", ecs(min_ram=-1), "IMG.0055"),
    ("max_ram not an integer", ecs(max_ram="big"), "IMG.0055"),
    ("min_ram above max_ram", ecs(min_ram=4096, max_ram=1024), "IMG.0055"),
    # OBS
    ("min_disk missing", {"name": "img", "image_url": OBS}, "IMG.0055"),
    ("min_disk 39", obs(min_disk=39), "IMG.0055"),
    ("min_disk 256", obs(min_disk=256), "IMG.0055"),
    ("min_disk a string", obs(min_disk="40"), "IMG.0055"),
    ("image_url without colon", obs(image_url="bucket-object"), "IMG.0057"),
    ("OBS object missing", obs(image_url="ims-image:nothing.qcow2"), "IMG.0057"),
    ("OBS object not Standard", obs(image_url=fx.WARM_OBJECT_URL), "IMG.0057"),
    ("os_version unknown", obs(os_version="CentOS 99 64bit"), "IMG.0056"),
    ("os_type invalid", obs(os_type="Unix"), "IMG.0122"),
    ("os_type contradicts os_version", obs(os_type="Windows", os_version="CentOS 7.0 64bit"), "IMG.0122"),
    ("type invalid", obs(type="VM"), "IMG.0024"),
    ("architecture invalid", obs(architecture="risc-v"), "IMG.0212"),
    ("hw_firmware_type invalid", obs(hw_firmware_type="efi"), "IMG.0141"),
    ("arm with bios", obs(architecture="arm", hw_firmware_type="bios"), "IMG.0141"),
    (
        "quick import without os_version",
        obs(image_url=fx.QUICK_IMPORT_OBJECT_URL, is_quick_import=True),
        "IMG.0166",
    ),
    (
        "quick import of a qcow2 file",
        obs(is_quick_import=True, os_version="CentOS 7.0 64bit"),
        "IMG.0057",
    ),
    ("ISO file without os_version", obs(image_url=fx.ISO_OBJECT_URL), "IMG.0166"),
    ("IsoImage type without os_version", obs(type="IsoImage"), "IMG.0166"),
    ("is_config not a boolean", obs(is_config="yes"), "IMG.0001"),
    ("cmk_id blank", obs(cmk_id=" "), "IMG.0095"),
    (
        "four OBS data images",
        obs(data_images=[{"image_url": u, "min_disk": 40} for u in [*fx.DATA_OBJECT_URLS, OBS]]),
        "IMG.0194",
    ),
    (
        "OBS data image min_disk 0",
        obs(data_images=[{"image_url": fx.DATA_OBJECT_URLS[0], "min_disk": 0}]),
        "IMG.0055",
    ),
    (
        "OBS data image min_disk 2049",
        obs(data_images=[{"image_url": fx.DATA_OBJECT_URLS[0], "min_disk": 2049}]),
        "IMG.0055",
    ),
    ("OBS data image without image_url", obs(data_images=[{"min_disk": 10}]), "IMG.0057"),
    ("OBS data image missing object", obs(data_images=[{"image_url": "b:none", "min_disk": 10}]), "IMG.0057"),
    (
        "OBS data image unknown field",
        obs(data_images=[{"image_url": OBS, "min_disk": 40, "x": 1}]),
        "IMG.0001",
    ),
    (
        "OBS data image min_disk below its file's disk",
        obs(data_images=[{"image_url": fx.DATA_OBJECT_URLS[2], "min_disk": 29}]),
        "IMG.0055",
    ),
    # volume path
    ("volume without os_version", {"name": "img", "volume_id": fx.SEED_OS_VOLUME_ID}, "IMG.0056"),
    ("volume os_version unknown", vol(os_version="Plan 9 64bit"), "IMG.0056"),
    ("volume type invalid", vol(type="IsoImage"), "IMG.0024"),
    ("volume missing", vol(volume_id="00000000-0000-0000-0000-000000000000"), "IMG.0120"),
    ("volume is a system disk", vol(volume_id=fx.SEED_ECS_SYSTEM_VOLUME_ID), "IMG.0120"),
    # ECS path
    ("ECS missing", ecs(instance_id="00000000-0000-0000-0000-000000000000"), "IMG.0005"),
    ("ECS not stopped", ecs(instance_id=fx.RUNNING_ECS_ID), "IMG.0008"),
    ("ECS id too long", ecs(instance_id="x" * 65), "IMG.0012"),
    (
        "data disk of another ECS",
        ecs(data_images=[{"name": "d", "volume_id": fx.MULTIDISK_DATA_VOLUME_IDS[0]}]),
        "IMG.0120",
    ),
    ("data disk missing", ecs(data_images=[{"name": "d", "volume_id": "nope"}]), "IMG.0120"),
    ("data item without volume_id", ecs(data_images=[{"name": "d"}]), "IMG.0120"),
    (
        "data item unknown field",
        ecs(data_images=[{"name": "d", "volume_id": DATA_VOL, "min_disk": 1}]),
        "IMG.0001",
    ),
    ("same data disk twice", ecs(data_images=[{"name": "d", "volume_id": DATA_VOL}] * 2), "IMG.0120"),
    ("data_images not a list", ecs(data_images={"name": "d"}), "IMG.0001"),
    # data images only
    ("data-only: detached volume", data({"name": "d", "volume_id": fx.DETACHED_VOLUME_ID}), "IMG.0120"),
    ("data-only: system disk", data({"name": "d", "volume_id": fx.SEED_ECS_SYSTEM_VOLUME_ID}), "IMG.0120"),
    (
        "data-only: disks of different ECSs",
        data(
            {"name": "a", "volume_id": DATA_VOL}, {"name": "b", "volume_id": fx.MULTIDISK_DATA_VOLUME_IDS[0]}
        ),
        "IMG.0140",
    ),
]


@pytest.mark.parametrize(("body", "code"), [(b, c) for _, b, c in CASES], ids=[n for n, _, _ in CASES])
def test_create_rule(ims: Ims, body: Any, code: str) -> None:
    response = ims.post("/v2/cloudimages/action", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert ims_error(response) == code
    assert ims.admin.state()["jobs"] == []


@pytest.mark.parametrize(
    ("raw", "content_type", "code"),
    [
        (b"", "application/json", "IMG.0007"),
        (b"{not json", "application/json", "IMG.0001"),
        (b"[1, 2]", "application/json", "IMG.0001"),
        (b'"text"', "application/json", "IMG.0001"),
        (b'{"name": NaN}', "application/json", "IMG.0001"),
        (b'{"name": "img", "instance_id": "x"}', "text/plain", "IMG.0001"),
        (b"\xff\xfe", "application/json", "IMG.0001"),
    ],
)
def test_malformed_create_bodies(ims: Ims, raw: bytes, content_type: str, code: str) -> None:
    response = ims.post("/v2/cloudimages/action", data=raw, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert ims_error(response) == code


def test_oversized_body_is_rejected_by_the_gateway(ims: Ims) -> None:
    response = ims.post("/v2/cloudimages/action", json=ecs(description="x" * (2 * 1024 * 1024)))
    assert response.status_code == 413
    assert response.json()["error_code"] == "APIGW.0201"


def test_quota_is_enforced(ims: Ims) -> None:
    ims.admin.update_settings(image_quota=2)
    ims.create(ecs(data_images=[{"name": "d", "volume_id": DATA_VOL}]))
    response = ims.post("/v2/cloudimages/action", json=obs())
    assert response.status_code == 400 and ims_error(response) == "IMG.0015"


def test_failed_images_free_their_quota(ims: Ims) -> None:
    ims.admin.update_settings(image_quota=1)
    ims.admin.fail_next_job()
    assert ims.wait(ims.create(obs()))["status"] == "FAIL"
    assert ims.wait(ims.create(obs()))["status"] == "SUCCESS"


def test_seed_accepts_optional_fields(ims: Ims) -> None:
    body = obs(
        description="all optional fields",
        os_type="Linux",
        os_version="Ubuntu 22.04 server 64bit",
        is_config=True,
        is_config_init=False,
        cmk_id="kms-key-1",
        type="ECS",
        architecture="arm",
        enterprise_project_id="6b8d4e0a-1c2f-4a3b-9d8e-7f6a5b4c3d2e",
        min_ram=1024,
        max_ram=2048,
        image_tags=[{"key": "team", "value": ""}],
    )
    job = ims.wait(ims.create(body))
    image = ims.image(job["entities"]["image_id"])
    assert image is not None
    assert image["__support_arm"] == "true" and image["hw_firmware_type"] == "uefi"
    assert image["__system__cmkid"] == "kms-key-1"
    assert image["max_ram"] == "2048" and image["min_ram"] == 1024
    assert image["__is_config_init"] == "false"
    assert image["tags"] == ["team."]
