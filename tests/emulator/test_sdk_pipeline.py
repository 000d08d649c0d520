"""Huawei's official SDK (huaweicloudsdkims) drives the golden-image pipeline against the emulator: copy in a
region, copy to another region (one client per region's endpoint), share, accept, reject, stop sharing, list
members, and look images up with the list filters and marker paging; every new job type is read with both
ShowJob and ShowJobProgress."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from conftest import NORTH, SOUTH
from emu_support import sdk_client
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkims.v2 import (
    BatchAddMembersRequest,
    BatchAddMembersRequestBody,
    BatchDeleteMembersRequest,
    BatchUpdateMembersRequest,
    BatchUpdateMembersRequestBody,
    CopyImageCrossRegionRequest,
    CopyImageCrossRegionRequestBody,
    CopyImageInRegionInSafeModeRequest,
    CopyImageInRegionRequest,
    CopyImageInRegionRequestBody,
    CreateImageRequest,
    CreateImageRequestBody,
    GlanceListImageMembersRequest,
    ImsClient,
    ListImageMembersRequest,
    ListImagesRequest,
    ShowImageMemberRequest,
    ShowImageQuotaRequest,
    ShowJobProgressRequest,
    ShowJobRequest,
    TagKeyValue,
)
from huaweicloudsdkims.v2.region.ims_region import ImsRegion

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx


def finished(sdk: Any, server: EmulatorServer, job_id: str, job_type: str) -> Any:
    """Poll with ShowJobProgress and the deprecated ShowJob until the job ends; both report the same job."""
    for _ in range(100):
        progress = sdk.show_job_progress(ShowJobProgressRequest(job_id=job_id))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            job = sdk.show_job(ShowJobRequest(job_id=job_id))
        assert job.job_type == progress.job_type == job_type
        assert job.status == progress.status
        if job.status in ("SUCCESS", "FAIL"):
            assert job.end_time == progress.end_time and job.entities.image_id == progress.entities.image_id
            return job
        server.admin.advance(7)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture
def north(two_regions: EmulatorServer) -> Any:
    return sdk_client(two_regions)


@pytest.fixture
def south(two_regions: EmulatorServer) -> Any:
    return sdk_client(two_regions, region=SOUTH)


@pytest.fixture
def recipient(two_regions: EmulatorServer) -> Any:
    return sdk_client(two_regions, account="member")


def golden(sdk: Any, server: EmulatorServer, name: str = "golden") -> str:
    body = CreateImageRequestBody(
        name=name, instance_id=fx.SEED_ECS_ID, image_tags=[TagKeyValue(key="role", value="golden")]
    )
    job_id = sdk.create_image(CreateImageRequest(body=body)).job_id
    return str(finished(sdk, server, job_id, "imsCreateImageByInstance").entities.image_id)


def test_copy_in_region(north: Any, two_regions: EmulatorServer) -> None:
    source = golden(north, two_regions)
    body = CopyImageInRegionRequestBody(name="copy", description="in region", enterprise_project_id="0")
    job_id = north.copy_image_in_region(CopyImageInRegionRequest(image_id=source, body=body)).job_id
    job = finished(north, two_regions, job_id, "imsCopyImageInRegionJob")
    assert job.status == "SUCCESS" and job.entities.image_name == "copy"
    (copied,) = north.list_images(ListImagesRequest(id=job.entities.image_id)).images
    assert copied.originalimagename == source and copied.description == "in region"
    assert copied.status == "active" and copied.os_version == "CentOS 7.9 64bit"
    safe = CopyImageInRegionInSafeModeRequest(image_id=source, body=CopyImageInRegionRequestBody(name="safe"))
    job_id = north.copy_image_in_region_in_safe_mode(safe).job_id
    assert finished(north, two_regions, job_id, "imsCopyImageInRegionJob").status == "SUCCESS"


def test_copy_in_region_refusals_reach_the_sdk(north: Any, two_regions: EmulatorServer) -> None:
    whole = two_regions.admin.add_image(name="whole", whole_image="CBR")["id"]
    request = CopyImageInRegionRequest(image_id=whole, body=CopyImageInRegionRequestBody(name="x"))
    with pytest.raises(ClientRequestException) as refused:
        north.copy_image_in_region(request)
    assert refused.value.status_code == 400 and refused.value.error_code == "IMG.0130"


def test_copy_across_regions(north: Any, south: Any, two_regions: EmulatorServer) -> None:
    source = golden(north, two_regions)
    body = CopyImageCrossRegionRequestBody(
        name="far",
        description="to the south",
        region=SOUTH,
        project_name=SOUTH,
        agency_name="ims_admin_agency",
    )
    job_id = north.copy_image_cross_region(CopyImageCrossRegionRequest(image_id=source, body=body)).job_id
    job = finished(north, two_regions, job_id, "imsCrossRegionCopyImageJob")  # polled in the source region
    assert job.status == "SUCCESS"
    (far,) = south.list_images(ListImagesRequest(id=job.entities.image_id)).images
    assert far.owner == two_regions.project_for(SOUTH) and far.originalimagename == source
    assert far.name == "far" and far.status == "active"
    assert north.list_images(ListImagesRequest(id=job.entities.image_id)).images == []
    with pytest.raises(ClientRequestException) as elsewhere:
        south.show_job_progress(ShowJobProgressRequest(job_id=job_id))
    assert elsewhere.value.status_code == 404 and elsewhere.value.error_code == "IMG.0086"
    wrong = CopyImageCrossRegionRequestBody(
        name="far", region=SOUTH, project_name="elsewhere", agency_name="ims_admin_agency"
    )
    with pytest.raises(ClientRequestException) as refused:
        north.copy_image_cross_region(CopyImageCrossRegionRequest(image_id=source, body=wrong))
    assert refused.value.error_code == "IMG.0145"


def test_share_accept_list_and_stop(north: Any, recipient: Any, two_regions: EmulatorServer) -> None:
    image_id = golden(north, two_regions)
    member_project = two_regions.project_for(NORTH, "member")
    add = BatchAddMembersRequestBody(images=[image_id], projects=[member_project])
    job_id = north.batch_add_members(BatchAddMembersRequest(body=add)).job_id
    job = finished(north, two_regions, job_id, "imsAddImageMembersJob")
    (result,) = job.entities.results
    assert (result.image_id, result.project_id, result.status) == (image_id, member_project, "success")

    pending = ListImagesRequest(visibility="shared", imagetype="shared", member_status="pending")
    assert [i.id for i in recipient.list_images(pending).images] == [image_id]
    assert recipient.list_images(ListImagesRequest()).images == []

    accept = BatchUpdateMembersRequestBody(images=[image_id], project_id=member_project, status="accepted")
    job_id = recipient.batch_update_members(BatchUpdateMembersRequest(body=accept)).job_id
    assert finished(recipient, two_regions, job_id, "imsUpdateImageMembersJob").status == "SUCCESS"
    (shared,) = recipient.list_images(ListImagesRequest()).images
    assert shared.id == image_id and shared.visibility == "shared" and shared.imagetype == "shared"
    accepted = ListImagesRequest(visibility="shared", imagetype="shared", member_status="accepted")
    assert [i.id for i in recipient.list_images(accepted).images] == [image_id]

    members = north.list_image_members(ListImageMembersRequest(image_id=image_id, limit=10))
    (member,) = members.members
    assert (member.member_id, member.status, member.member_type) == (member_project, "accepted", "project")
    assert members.page_info.current_count == 1 and members.schema == "/v2/schemas/members"
    shown = north.show_image_member(ShowImageMemberRequest(image_id=image_id, member_id=member_project))
    assert shown.status == "accepted" and shown.image_id == image_id
    glance = north.glance_list_image_members(GlanceListImageMembersRequest(image_id=image_id))
    assert [m.member_id for m in glance.members] == [member_project]

    reject = BatchUpdateMembersRequestBody(images=[image_id], project_id=member_project, status="rejected")
    job_id = recipient.batch_update_members(BatchUpdateMembersRequest(body=reject)).job_id
    finished(recipient, two_regions, job_id, "imsUpdateImageMembersJob")
    assert recipient.list_images(ListImagesRequest()).images == []

    remove = BatchAddMembersRequestBody(images=[image_id], projects=[member_project])
    job_id = north.batch_delete_members(BatchDeleteMembersRequest(body=remove)).job_id
    job = finished(north, two_regions, job_id, "imsDelImageMembersJob")
    assert job.status == "SUCCESS" and job.entities.results == []
    rejected = ListImagesRequest(visibility="shared", imagetype="shared", member_status="rejected")
    assert recipient.list_images(rejected).images == []


def test_list_image_members_pages_with_the_sdk(north: Any, two_regions: EmulatorServer) -> None:
    image_id = golden(north, two_regions)
    projects = [
        two_regions.admin.add_account(name=f"m{n}", access_key=f"MKEY{n}", secret_key="S")["projects"][NORTH]
        for n in range(3)
    ]
    for project in projects:
        body = BatchAddMembersRequestBody(images=[image_id], projects=[project])
        finished(north, two_regions, north.batch_add_members(BatchAddMembersRequest(body=body)).job_id,
                 "imsAddImageMembersJob")  # fmt: skip
    seen, marker = [], None
    while True:
        page = north.list_image_members(ListImageMembersRequest(image_id=image_id, limit=2, marker=marker))
        seen += [m.member_id for m in page.members]
        marker = page.page_info.next_marker
        if not marker:
            break
    assert seen == projects


def test_lookups_with_the_sdk(north: Any, two_regions: EmulatorServer) -> None:
    first = golden(north, two_regions, "golden-a")
    two_regions.admin.advance(60)
    second = golden(north, two_regions, "golden-b")
    gold = two_regions.admin.add_image(
        name="Ubuntu public", public=True, os_version="Ubuntu 22.04 server 64bit"
    )
    created = north.list_images(ListImagesRequest(id=second)).images[0].created_at

    def found(**filters: Any) -> list[str]:
        return [i.id for i in north.list_images(ListImagesRequest(**filters)).images]

    assert found(name="golden-a", status="active") == [first]
    assert found(imagetype="private", sort_key="name", sort_dir="asc") == [first, second]
    assert found(imagetype="gold", protected=True, visibility="public") == [gold["id"]]
    assert found(platform="Ubuntu") == [gold["id"]]
    assert found(os_type="Linux", imagetype="private", virtual_env_type="FusionCompute") == [second, first]
    assert found(architecture="x86", tag="role=golden") == [second, first]
    assert found(enterprise_project_id="all_granted_eps", owner=two_regions.project_id) == [second, first]
    assert found(created_at=f"lt:{created}", imagetype="private") == [first]
    page = found(sort_key="name", sort_dir="asc", limit=2)
    assert page == [gold["id"], first]
    assert found(sort_key="name", sort_dir="asc", limit=2, marker=page[-1]) == [second]
    assert found(sort_key="name", sort_dir="asc", marker=second) == []
    with pytest.raises(ClientRequestException) as refused:
        north.list_images(ListImagesRequest(member_status="accepted"))
    assert refused.value.error_code == "IMG.0001"


def test_image_quota_with_the_sdk(north: Any, two_regions: EmulatorServer) -> None:
    golden(north, two_regions)
    (quota,) = north.show_image_quota(ShowImageQuotaRequest()).quotas.resources
    assert (quota.type, quota.used, quota.quota) == ("image", 1, 100)


def test_the_sdk_finds_a_regions_endpoint_through_its_environment_variable(
    two_regions: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huaweicloudsdkcore reads HUAWEICLOUD_SDK_REGION_IMS_<REGION> before its built-in endpoints; with no
    project id it asks that region's IAM (here the same listener) for the project named after the region."""
    south_url = two_regions.url_for(SOUTH)
    monkeypatch.setenv("HUAWEICLOUD_SDK_REGION_IMS_CN_SOUTH_1", south_url)
    credentials = BasicCredentials(two_regions.access_key, two_regions.secret_key).with_iam_endpoint(
        south_url
    )
    client = (
        ImsClient.new_builder().with_credentials(credentials).with_region(ImsRegion.value_of(SOUTH)).build()
    )
    assert client.list_images(ListImagesRequest()).images == []
    assert credentials.project_id == two_regions.project_for(SOUTH)
    assert {e["region"] for e in two_regions.admin.requests()} == {SOUTH}
