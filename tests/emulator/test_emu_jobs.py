"""Job and image lifecycles on the manual clock: phases, progress profiles, shapes per create path."""

from __future__ import annotations

import re
from typing import Any

import pytest
from emu_support import Ims

from ims_provider.emulator import fixtures as fx

ECS_BODY = {"name": "sys", "instance_id": fx.SEED_ECS_ID}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _observe(
    mims: Ims, job_id: str, image_id: str, steps: int, step: float
) -> list[tuple[dict[str, Any], str]]:
    seen = []
    for _ in range(steps):
        job = mims.job(job_id)
        image = mims.image(image_id)
        assert image is not None
        seen.append((job, image["status"]))
        mims.admin.advance(step)
    return seen


def test_ecs_job_lifecycle(mims: Ims) -> None:
    job_id = mims.create(ECS_BODY)
    first = mims.job(job_id)
    assert first["status"] == "INIT" and first["job_type"] == "imsCreateImageByInstance"
    assert TIME_RE.match(first["begin_time"]) and first["end_time"] is None
    image_id = first["entities"]["image_id"]
    seen = _observe(mims, job_id, image_id, steps=13, step=5)  # 60 s job, observed every 5 s
    statuses = [job["status"] for job, _ in seen]
    assert statuses[0] == "INIT" and statuses[-1] == "SUCCESS"
    assert statuses == sorted(statuses, key=["INIT", "RUNNING", "SUCCESS"].index)
    running = [job for job, _ in seen if job["status"] == "RUNNING"]
    percents = [job["entities"]["process_percent"] for job in running]
    assert percents == sorted(percents) and len(set(percents)) == len(percents)
    assert all(0 <= p < 1 for p in percents)
    tasks = [job["entities"]["current_task"] for job in running]
    assert tasks[0] == "CreateSnapshotTask" and tasks[-1] == "UpdateImageTask" and "CreateImageTask" in tasks
    image_states = [state for _, state in seen]
    assert image_states[0] == "queued" and image_states[-1] == "active" and "saving" in image_states
    done = seen[-1][0]
    assert done["error_code"] is None and done["fail_reason"] is None and TIME_RE.match(done["end_time"])
    assert done["entities"] == {"image_id": image_id, "image_name": "sys", "process_percent": 1.0}


def test_both_job_apis_agree(mims: Ims) -> None:
    job_id = mims.create(ECS_BODY)
    mims.admin.advance(30)
    progress = mims.job(job_id)
    legacy = mims.get(f"/v1/{mims.project_id}/jobs/{job_id}").json()
    assert legacy == progress


def test_unknown_job_is_404(mims: Ims) -> None:
    response = mims.get("/v1/cloudimages/job/0123456789abcdef0123456789abcdef")
    assert response.status_code == 404 and response.json()["error"]["code"]


def test_a_45_minute_job_completes_in_milliseconds(mims: Ims) -> None:
    mims.admin.update_settings(job_seconds=45 * 60)
    job_id = mims.create(ECS_BODY)
    assert mims.job(job_id)["status"] in ("INIT", "RUNNING")
    mims.admin.advance(45 * 60)  # the manual clock: no real waiting
    assert mims.job(job_id)["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("profile", "check"),
    [
        ("front_loaded", lambda ps: ps[4] > 0.75 and ps == sorted(ps)),
        ("stepped", lambda ps: set(ps) <= {0.0, 0.25, 0.5, 0.75}),
        ("absent", lambda ps: ps == []),
    ],
)
def test_progress_profiles(mims: Ims, profile: str, check: Any) -> None:
    mims.admin.update_settings(progress_profile=profile)
    job_id = mims.create(ECS_BODY)
    percents = []
    for _ in range(11):
        mims.admin.advance(5)
        entities = mims.job(job_id)["entities"]
        if "current_task" in entities and "process_percent" in entities:
            percents.append(entities["process_percent"])
    assert check(percents), percents


def test_ecs_with_data_disks_has_sub_jobs_in_request_order(mims: Ims) -> None:
    body = {
        "name": "sys",
        "instance_id": fx.MULTIDISK_ECS_ID,
        "data_images": [
            {"name": "second", "volume_id": fx.MULTIDISK_DATA_VOLUME_IDS[1]},
            {"name": "first", "volume_id": fx.MULTIDISK_DATA_VOLUME_IDS[0]},
        ],
    }
    job = mims.wait(mims.create(body))
    assert job["job_type"] == "imsCreateImageByInstance" and job["status"] == "SUCCESS"
    subs = job["entities"]["sub_jobs_result"]
    assert [s["entities"]["image_name"] for s in subs] == ["second", "first"]
    assert [s["job_type"] for s in subs] == ["imsCopyVolumeToImageJob"] * 2
    assert job["entities"]["sub_jobs_list"] == [s["job_id"] for s in subs]
    system = mims.image(job["entities"]["image_id"])
    assert system is not None and system["__data_origin"] == f"instance,{fx.MULTIDISK_ECS_ID}"
    assert system["virtual_env_type"] == "FusionCompute" and system["min_disk"] == 50
    assert system["__os_version"] == "Huawei Cloud EulerOS 2.0 64bit"
    second = mims.image(subs[0]["entities"]["image_id"])
    assert second is not None and second["virtual_env_type"] == "DataImage"
    assert second["__data_origin"] == f"volume,{fx.MULTIDISK_DATA_VOLUME_IDS[1]}" and second["min_disk"] == 20


def test_data_images_only_job_has_ids_only_in_sub_jobs(mims: Ims) -> None:
    body = {"data_images": [{"name": "d1", "volume_id": fx.SEED_DATA_VOLUME_ID}]}
    job = mims.wait(mims.create(body))
    assert job["job_type"] == "imsVolumesToSysDataImagesJob"
    assert "image_id" not in job["entities"]
    (sub,) = job["entities"]["sub_jobs_result"]
    assert sub["status"] == "SUCCESS" and sub["job_type"] == "imsCopyVolumeToImageJob"
    image = mims.image(sub["entities"]["image_id"])
    assert image is not None and image["min_disk"] == 100 and image["name"] == "d1"


def test_obs_job_with_data_files(mims: Ims) -> None:
    body = {
        "name": "file",
        "image_url": fx.SEED_OBJECT_URL,
        "min_disk": 40,
        "os_version": "CentOS 7.0 64bit",
        "data_images": [{"image_url": fx.DATA_OBJECT_URLS[0], "min_disk": 15}],
    }
    job = mims.wait(mims.create(body))
    assert job["job_type"] == "imsImportImageJob"
    (sub,) = job["entities"]["sub_jobs_result"]
    assert sub["job_type"] == "imsImportDataImageJob" and sub["entities"]["image_name"] == "file-data1"
    data = mims.image(sub["entities"]["image_id"])
    assert (
        data is not None
        and data["min_disk"] == 15
        and data["__data_origin"] == f"file,{fx.DATA_OBJECT_URLS[0]}"
    )
    system = mims.image(job["entities"]["image_id"])
    assert system is not None and system["__os_type"] == "Linux" and system["__platform"] == "CentOS"


def test_volume_job_and_image(mims: Ims) -> None:
    body = {
        "name": "fromvol",
        "volume_id": fx.SEED_OS_VOLUME_ID,
        "os_version": "CentOS 7.0 64bit",
        "type": "BMS",
    }
    job = mims.wait(mims.create(body))
    assert job["job_type"] == "imsVolumeCreateImageJob"
    image = mims.image(job["entities"]["image_id"])
    assert image is not None
    assert (
        image["__data_origin"] == f"volume,{fx.SEED_OS_VOLUME_ID}" and image["virtual_env_type"] == "Ironic"
    )
    assert image["__os_version"] == "CentOS 7.0 64bit"


def test_iso_image(mims: Ims) -> None:
    body = {
        "name": "iso",
        "image_url": fx.ISO_OBJECT_URL,
        "min_disk": 40,
        "os_version": "Debian GNU/Linux 12.0.0 64bit",
    }
    image = mims.image(mims.wait(mims.create(body))["entities"]["image_id"])
    assert image is not None and image["virtual_env_type"] == "IsoImage" and image["disk_format"] == "iso"


def test_image_object_shape(mims: Ims) -> None:
    body = {**ECS_BODY, "description": "desc", "max_ram": 4096, "tags": ["aaa.111"]}
    image_id = mims.wait(mims.create(body))["entities"]["image_id"]
    image = mims.get(f"/v2/images/{image_id}").json()
    assert image["id"] == image_id and image["status"] == "active"
    assert image["visibility"] == "private" and image["owner"] == mims.project_id
    assert image["__imagetype"] == "private" and image["__description"] == "desc"
    assert image["max_ram"] == "4096" and image["min_ram"] == 0 and image["min_disk"] == 40
    assert image["disk_format"] == "zvhd2" and image["tags"] == ["aaa.111"]
    assert image["__os_version"] == "CentOS 7.9 64bit" and image["__os_type"] == "Linux"
    assert isinstance(image["__image_size"], str) and image["enterprise_project_id"] == "0"
    for key in ("created_at", "updated_at", "active_at"):
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", image[key])
    assert image["self"] == f"/v2/images/{image_id}" and image["file"].endswith("/file")


def test_activation_delay(mims: Ims) -> None:
    mims.admin.update_settings(activation_seconds=30)
    job = mims.wait(mims.create(ECS_BODY))
    image_id = job["entities"]["image_id"]
    image = mims.image(image_id)
    assert job["status"] == "SUCCESS"
    # wait() advanced the clock by an hour, so the image is active; check the window with a fresh job
    assert image is not None and image["status"] == "active"
    job_id = mims.create(ECS_BODY)
    mims.admin.advance(60)
    fresh = mims.job(job_id)
    assert fresh["status"] == "SUCCESS"
    pending = mims.image(fresh["entities"]["image_id"])
    assert pending is not None and pending["status"] == "saving"
    mims.admin.advance(30)
    active = mims.image(fresh["entities"]["image_id"])
    assert active is not None and active["status"] == "active"


def test_delete_lingers_as_deleted(mims: Ims) -> None:
    mims.admin.update_settings(delete_seconds=10)
    image_id = mims.wait(mims.create(ECS_BODY))["entities"]["image_id"]
    assert mims.delete(f"/v2/images/{image_id}").status_code == 204
    image = mims.image(image_id)
    assert image is not None and image["status"] == "deleted"
    assert mims.delete(f"/v2/images/{image_id}").status_code == 404
    mims.admin.advance(10)
    assert mims.image(image_id) is None


def test_real_clock_job_finishes(ims: Ims) -> None:
    job = ims.wait(ims.create(ECS_BODY), timeout=5)
    assert job["status"] == "SUCCESS"
