"""Compatibility suite: Huawei's official Python SDK (huaweicloudsdkims + huaweicloudsdkcore) drives the
emulator through every create path and every follow-up call, and cannot tell it from the real service.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from emu_support import sdk_client
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkims.v2 import (
    BatchAddOrDeleteTagsRequest,
    BatchAddOrDeleteTagsRequestBody,
    CreateDataImage,
    CreateImageInSafeModeRequest,
    CreateImageRequest,
    CreateImageRequestBody,
    GlanceDeleteImageRequest,
    GlanceDeleteImageRequestBody,
    GlanceShowImageRequest,
    ImsClient,
    ListImagesRequest,
    ListImageTagsRequest,
    ListOsVersionsRequest,
    ShowJobProgressRequest,
    ShowJobRequest,
    TagKeyValue,
    UpdateImageRequest,
    UpdateImageRequestBody,
)

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx


@pytest.fixture
def sdk(manual_emulator: EmulatorServer) -> Iterator[Any]:
    yield sdk_client(manual_emulator)


PHASES = {"INIT": 0, "RUNNING": 1, "SUCCESS": 2, "FAIL": 2}


def wait(sdk: Any, server: EmulatorServer, job_id: str) -> Any:
    """Poll with ShowJobProgress and the deprecated ShowJob; both must agree at every step (on a real clock
    the job may have moved on to a later phase between the two reads, never back)."""
    manual = server.admin.clock()["mode"] == "manual"
    percents: list[float] = []
    for _ in range(200):
        progress = sdk.show_job_progress(ShowJobProgressRequest(job_id=job_id))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            legacy = sdk.show_job(ShowJobRequest(job_id=job_id))
        assert legacy.job_type == progress.job_type
        if manual:
            assert legacy.status == progress.status
        else:
            assert PHASES[legacy.status] >= PHASES[progress.status]
        if progress.status in ("SUCCESS", "FAIL"):
            assert progress.end_time and legacy.end_time == progress.end_time
            return legacy
        if progress.status == "RUNNING":
            assert progress.entities.current_task
            percents.append(progress.entities.process_percent)
        server.admin.advance(7)
    raise AssertionError(f"job {job_id} did not finish; progress seen {percents}")


def create(sdk: Any, **fields: Any) -> str:
    return str(sdk.create_image(CreateImageRequest(body=CreateImageRequestBody(**fields))).job_id)


def test_ecs_system_image(sdk: Any, manual_emulator: EmulatorServer) -> None:
    job_id = create(
        sdk,
        name="sdk-ecs",
        instance_id=fx.SEED_ECS_ID,
        description="from the SDK",
        image_tags=[TagKeyValue(key="env", value="test")],
        min_ram=512,
        max_ram=4096,
    )
    job = wait(sdk, manual_emulator, job_id)
    assert job.status == "SUCCESS" and job.job_type == "imsCreateImageByInstance"
    assert job.error_code is None and job.fail_reason is None
    (image,) = sdk.list_images(ListImagesRequest(id=job.entities.image_id)).images
    assert image.status == "active" and image.name == "sdk-ecs" and image.description == "from the SDK"
    assert (
        image.max_ram == "4096" and image.min_ram == 512 and image.data_origin == f"instance,{fx.SEED_ECS_ID}"
    )
    assert (
        image.imagetype == "private" and image.os_version == "CentOS 7.9 64bit" and image.tags == ["env.test"]
    )


def test_ecs_system_and_data_images(sdk: Any, manual_emulator: EmulatorServer) -> None:
    data = [CreateDataImage(name="sdk-data", volume_id=fx.SEED_DATA_VOLUME_ID, tags=["k.v"])]
    job = wait(
        sdk, manual_emulator, create(sdk, name="sdk-sys", instance_id=fx.SEED_ECS_ID, data_images=data)
    )
    assert job.status == "SUCCESS" and job.entities.image_id
    (sub,) = job.entities.sub_jobs_result
    assert sub.status == "SUCCESS" and sub.entities.image_name == "sdk-data"
    assert job.entities.sub_jobs_list == [sub.job_id]
    (image,) = sdk.list_images(ListImagesRequest(id=sub.entities.image_id)).images
    assert image.virtual_env_type == "DataImage" and image.min_disk == 100


def test_data_images_only(sdk: Any, manual_emulator: EmulatorServer) -> None:
    data = [CreateDataImage(name="only-data", volume_id=fx.SEED_DATA_VOLUME_ID, description="d")]
    job = wait(sdk, manual_emulator, create(sdk, data_images=data))
    assert job.job_type == "imsVolumesToSysDataImagesJob" and job.entities.image_id is None
    assert job.entities.sub_jobs_result[0].entities.image_id


def test_obs_image(sdk: Any, manual_emulator: EmulatorServer) -> None:
    job_id = create(
        sdk,
        name="sdk-obs",
        image_url=fx.SEED_OBJECT_URL,
        min_disk=40,
        os_version="CentOS 7.0 64bit",
        is_config=True,
        tags=["aaa.111"],
        architecture="x86",
        hw_firmware_type="bios",
    )
    job = wait(sdk, manual_emulator, job_id)
    assert job.job_type == "imsImportImageJob" and job.status == "SUCCESS"
    image = sdk.list_images(ListImagesRequest(id=job.entities.image_id)).images[0]
    assert image.data_origin == f"file,{fx.SEED_OBJECT_URL}" and image.hw_firmware_type == "bios"


def test_obs_image_with_data_files(sdk: Any, manual_emulator: EmulatorServer) -> None:
    # The SDK model has no OBS data-image type; plain dicts serialise as they are.
    data = [{"name": "file-data", "image_url": fx.DATA_OBJECT_URLS[0], "min_disk": 10}]
    job_id = create(sdk, name="sdk-obs-data", image_url=fx.SEED_OBJECT_URL, min_disk=40, data_images=data)
    job = wait(sdk, manual_emulator, job_id)
    assert job.entities.image_id and job.entities.sub_jobs_result[0].job_type == "imsImportDataImageJob"


def test_quick_import(sdk: Any, manual_emulator: EmulatorServer) -> None:
    job_id = create(
        sdk,
        name="sdk-quick",
        image_url=fx.QUICK_IMPORT_OBJECT_URL,
        min_disk=40,
        is_quick_import=True,
        os_version="Ubuntu 22.04 server 64bit",
    )
    assert wait(sdk, manual_emulator, job_id).status == "SUCCESS"


def test_volume_system_image(sdk: Any, manual_emulator: EmulatorServer) -> None:
    job_id = create(
        sdk, name="sdk-vol", volume_id=fx.SEED_OS_VOLUME_ID, os_version="CentOS 7.0 64bit", type="ECS"
    )
    job = wait(sdk, manual_emulator, job_id)
    assert job.job_type == "imsVolumeCreateImageJob" and job.entities.image_id


def test_create_in_safe_mode_v21(sdk: Any, manual_emulator: EmulatorServer) -> None:
    body = CreateImageRequestBody(name="safe", instance_id=fx.SEED_ECS_ID)
    job_id = sdk.create_image_in_safe_mode(CreateImageInSafeModeRequest(body=body)).job_id
    assert wait(sdk, manual_emulator, job_id).status == "SUCCESS"


def test_list_update_tag_delete(sdk: Any, manual_emulator: EmulatorServer) -> None:
    image_id = wait(
        sdk, manual_emulator, create(sdk, name="life", instance_id=fx.SEED_ECS_ID)
    ).entities.image_id
    listed = sdk.list_images(
        ListImagesRequest(imagetype="private", owner=manual_emulator.project_id, name="life", limit=10)
    ).images
    assert [i.id for i in listed] == [image_id]

    with pytest.raises(ClientRequestException) as info:
        sdk.update_image(
            UpdateImageRequest(
                image_id=image_id, body=[UpdateImageRequestBody(op="replace", path="/max_ram", value="1")]
            )
        )
    assert info.value.status_code == 400 and info.value.error_code == "IMG.0035"
    updated = sdk.update_image(
        UpdateImageRequest(
            image_id=image_id,
            body=[
                UpdateImageRequestBody(op="replace", path="/name", value="life-renamed"),
                UpdateImageRequestBody(op="add", path="/max_ram", value="2048"),
                UpdateImageRequestBody(op="add", path="/__description", value="described"),
            ],
        )
    )
    assert updated.name == "life-renamed" and updated.max_ram == "2048" and updated.description == "described"

    tags = [TagKeyValue(key="a", value="1"), TagKeyValue(key="b", value="2")]
    sdk.batch_add_or_delete_tags(
        BatchAddOrDeleteTagsRequest(
            image_id=image_id, body=BatchAddOrDeleteTagsRequestBody(action="create", tags=tags)
        )
    )
    delete = BatchAddOrDeleteTagsRequestBody(action="delete", tags=[TagKeyValue(key="a", value="1")])
    sdk.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(image_id=image_id, body=delete))
    remaining = sdk.list_image_tags(ListImageTagsRequest(image_id=image_id)).tags
    assert [(t.key, t.value) for t in remaining] == [("b", "2")]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        shown = sdk.glance_show_image(GlanceShowImageRequest(image_id=image_id))
    assert shown.id == image_id and shown.tags == ["b.2"]

    sdk.glance_delete_image(
        GlanceDeleteImageRequest(image_id=image_id, body=GlanceDeleteImageRequestBody(delete_backup=False))
    )
    assert sdk.list_images(ListImagesRequest(id=image_id)).images == []


def test_os_versions(sdk: Any) -> None:
    groups = sdk.list_os_versions(ListOsVersionsRequest()).body
    names = {v.os_version for g in groups for v in g.version_list}
    assert "CentOS 7.0 64bit" in names


def test_sdk_sees_ims_errors(sdk: Any) -> None:
    with pytest.raises(ClientRequestException) as info:
        create(sdk, name="x", instance_id=fx.RUNNING_ECS_ID)
    error = info.value
    assert error.status_code == 400 and error.error_code == "IMG.0008" and error.request_id


def test_sdk_sees_gateway_errors(manual_emulator: EmulatorServer) -> None:
    bad = sdk_client(manual_emulator, sk="WRONG")
    with pytest.raises(ClientRequestException) as info:
        bad.list_images(ListImagesRequest())
    assert info.value.status_code == 401 and info.value.error_code == "APIGW.0301"
    manual_emulator.admin.throttle(path="/v2/cloudimages")
    with pytest.raises(ClientRequestException) as throttled:
        sdk_client(manual_emulator).list_images(ListImagesRequest())
    # urllib3's 429 retry (0 retries by default) swallows the body, so the SDK reports the status as the code.
    assert throttled.value.status_code == 429 and throttled.value.error_code == "429"


def test_project_id_lookup_through_iam(manual_emulator: EmulatorServer) -> None:
    credentials = BasicCredentials(manual_emulator.access_key, manual_emulator.secret_key).with_iam_endpoint(
        manual_emulator.url
    )
    client = (
        ImsClient.new_builder()
        .with_credentials(credentials)
        .with_region(Region("cn-north-4", manual_emulator.url))
        .build()
    )
    assert credentials.project_id == manual_emulator.project_id
    assert client.list_images(ListImagesRequest()).images == []
    paths = [e["path"] for e in manual_emulator.admin.requests()]
    assert paths[0] == "/v3/projects"


def test_real_clock_job_with_sdk(emulator: EmulatorServer) -> None:
    sdk = sdk_client(emulator)
    job_id = create(sdk, name="real", instance_id=fx.SEED_ECS_ID)
    job = wait(sdk, emulator, job_id)
    assert job.status == "SUCCESS"
