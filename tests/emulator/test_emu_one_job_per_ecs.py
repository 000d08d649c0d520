"""IMS runs one image job per ECS at a time: IMG.0010 while the ECS itself is imaged, IMG.0139 while some of
its disks are; the refusal lasts exactly as long as the job (manual clock, 60 s jobs)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from emu_support import Ims, sdk_client
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkims.v2 import CreateImageRequest, CreateImageRequestBody

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx

DISK_A, DISK_B = fx.MULTIDISK_DATA_VOLUME_IDS


def ecs_body(name: str = "sys", instance_id: str = fx.SEED_ECS_ID, **extra: Any) -> dict[str, Any]:
    return {"name": name, "instance_id": instance_id, **extra}


def data_body(*volume_ids: str) -> dict[str, Any]:
    return {"data_images": [{"name": f"data-{i}", "volume_id": v} for i, v in enumerate(volume_ids)]}


def volume_body(volume_id: str) -> dict[str, Any]:
    return {"name": "from-disk", "volume_id": volume_id, "os_version": "CentOS 7.0 64bit", "type": "ECS"}


def refused(ims: Ims, body: dict[str, Any]) -> dict[str, Any]:
    """Post a create that IMS must refuse; its whole error body. Nothing may have been made."""
    before = ims.admin.state()
    response = ims.post("/v2/cloudimages/action", json=body)
    assert response.status_code == 400, response.text
    after = ims.admin.state()
    assert after["jobs"] == before["jobs"] and len(after["images"]) == len(before["images"])
    error: dict[str, Any] = response.json()
    return error


def code_of(ims: Ims, body: dict[str, Any]) -> str:
    return str(refused(ims, body)["error"]["code"])


def test_a_second_image_of_a_busy_ecs_is_refused_with_img0010(mims: Ims) -> None:
    mims.create(ecs_body())
    assert refused(mims, ecs_body("again")) == {
        "error": {
            "code": "IMG.0010",
            "message": f"The ECS {fx.SEED_ECS_ID} cannot be used to create an image because it has "
            "in-progress tasks.",
        }
    }
    with_data = ecs_body("again", data_images=[{"name": "d", "volume_id": fx.SEED_DATA_VOLUME_ID}])
    assert code_of(mims, with_data) == "IMG.0010"
    assert code_of(mims, data_body(fx.SEED_DATA_VOLUME_ID)) == "IMG.0010"  # a disk of the busy ECS


def test_ecs_image_with_data_disks_holds_the_ecs_too(mims: Ims) -> None:
    mims.create(ecs_body(instance_id=fx.MULTIDISK_ECS_ID, data_images=data_body(DISK_A)["data_images"]))
    assert code_of(mims, ecs_body(instance_id=fx.MULTIDISK_ECS_ID)) == "IMG.0010"
    assert code_of(mims, data_body(DISK_B)) == "IMG.0010"  # not in the job, but its ECS is being imaged
    assert code_of(mims, volume_body(DISK_B)) == "IMG.0010"


def test_disks_of_a_vm_being_imaged_are_refused_with_img0139(mims: Ims) -> None:
    mims.create(data_body(DISK_A))
    assert refused(mims, data_body(DISK_B)) == {
        "error": {
            "code": "IMG.0139",
            "message": f"Other disks on the ECS {fx.MULTIDISK_ECS_ID} are being used to create images.",
        }
    }
    assert code_of(mims, data_body(DISK_A)) == "IMG.0139"  # the same disk again
    assert code_of(mims, ecs_body(instance_id=fx.MULTIDISK_ECS_ID)) == "IMG.0139"  # its system disk
    assert code_of(mims, volume_body(DISK_B)) == "IMG.0139"  # a system image from its other data disk


def test_a_system_image_from_an_attached_data_disk_holds_its_vm(mims: Ims) -> None:
    mims.create(volume_body(DISK_A))
    assert code_of(mims, data_body(DISK_B)) == "IMG.0139"
    assert code_of(mims, ecs_body(instance_id=fx.MULTIDISK_ECS_ID)) == "IMG.0139"


def test_one_request_may_image_several_disks_of_one_vm(mims: Ims) -> None:
    job = mims.wait(mims.create(data_body(DISK_A, DISK_B)))
    assert job["status"] == "SUCCESS" and len(job["entities"]["sub_jobs_result"]) == 2


def test_the_refusal_is_lifted_when_the_job_succeeds(mims: Ims) -> None:
    job_id = mims.create(ecs_body())
    mims.admin.advance(59)
    assert mims.job(job_id)["status"] == "RUNNING"
    assert code_of(mims, ecs_body("again")) == "IMG.0010"
    mims.admin.advance(1)
    assert mims.job(job_id)["status"] == "SUCCESS"
    assert mims.wait(mims.create(ecs_body("again")))["status"] == "SUCCESS"


def test_the_refusal_is_lifted_when_the_job_fails(mims: Ims) -> None:
    mims.admin.fail_next_job("IMG.0061", "snapshot failed")
    job_id = mims.create(data_body(DISK_A))
    assert code_of(mims, data_body(DISK_B)) == "IMG.0139"
    assert mims.wait(job_id)["status"] == "FAIL"
    assert mims.wait(mims.create(data_body(DISK_B)))["status"] == "SUCCESS"


def test_a_hung_job_keeps_the_ecs_busy(mims: Ims) -> None:
    mims.admin.hang_next_job()
    job_id = mims.create(ecs_body())
    mims.admin.advance(365 * 24 * 3600)
    assert mims.job(job_id)["status"] == "RUNNING"
    assert code_of(mims, ecs_body("again")) == "IMG.0010"


def test_other_vms_files_and_detached_volumes_are_not_affected(mims: Ims) -> None:
    mims.create(ecs_body())
    other = mims.admin.add_server(status="SHUTOFF", data_volumes=[{"size": 10}])
    [other_disk] = [v["id"] for v in other["volumes"] if not v["system"]]
    jobs = [
        mims.create(ecs_body(instance_id=fx.MULTIDISK_ECS_ID)),
        mims.create(data_body(other_disk)),
        mims.create({"name": "file", "image_url": fx.SEED_OBJECT_URL, "min_disk": 40}),
        mims.create(volume_body(fx.SEED_OS_VOLUME_ID)),
        mims.create(volume_body(fx.SEED_OS_VOLUME_ID)),  # a detached disk belongs to no VM
    ]
    assert {mims.wait(job)["status"] for job in jobs} == {"SUCCESS"}


def test_a_refused_request_leaves_a_job_fault_armed(mims: Ims) -> None:
    mims.create(ecs_body())
    mims.admin.fail_next_job()
    assert code_of(mims, ecs_body("again")) == "IMG.0010"
    assert len(mims.admin.faults()) == 1


def test_concurrent_creates_of_one_ecs_start_one_job(mims: Ims) -> None:
    def post(i: int) -> int:
        return Ims(mims.server).post("/v2/cloudimages/action", json=ecs_body(f"race-{i}")).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(8)))
    assert statuses.count(200) == 1 and statuses.count(400) == 7
    assert len(mims.admin.state()["jobs"]) == 1
    refusals = [e for e in mims.admin.requests(method="POST") if e["status"] == 400]
    assert len(refusals) == 7


def test_the_official_sdk_sees_img0010(manual_emulator: EmulatorServer) -> None:
    sdk = sdk_client(manual_emulator)

    def create(name: str) -> Any:
        body = CreateImageRequestBody(name=name, instance_id=fx.SEED_ECS_ID)
        return sdk.create_image(CreateImageRequest(body=body))

    assert create("sdk").job_id
    with pytest.raises(ClientRequestException) as info:
        create("sdk-2")
    assert info.value.status_code == 400 and info.value.error_code == "IMG.0010"
    assert "in-progress tasks" in info.value.error_msg
