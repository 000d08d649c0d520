"""Copying images within a region and across regions: the jobs, the copies, and every rule with its code."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import NORTH, SOUTH
from emu_support import Ims, ims_error

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx
from ims_provider.emulator.admin import AdminError

AGENCY = "ims_admin_agency"


def made(ims: Ims, **body: Any) -> str:
    """An active image of the caller, made from the seed ECS unless the body says otherwise."""
    job = ims.done("POST", "/v2/cloudimages/action", body or {"name": "src", "instance_id": fx.SEED_ECS_ID})
    return str(job["entities"]["image_id"])


def copy(ims: Ims, image_id: str, body: Any) -> Any:
    return ims.post(f"/v1/cloudimages/{image_id}/copy", json=body)


def cross(ims: Ims, image_id: str, **body: Any) -> Any:
    full = {"name": "far", "region": SOUTH, "project_name": SOUTH, "agency_name": AGENCY, **body}
    return ims.post(
        f"/v1/cloudimages/{image_id}/cross_region_copy", json={k: v for k, v in full.items() if v}
    )


def refused(response: Any, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert ims_error(response) == code, response.text


# ------------------------------------------------------------------ within a region


def test_copy_in_region(owner: Ims) -> None:
    source_id = made(
        owner,
        name="src",
        image_url=fx.SEED_OBJECT_URL,
        min_disk=40,
        os_version="CentOS 7.0 64bit",
        architecture="arm",
        max_ram=4096,
        image_tags=[{"key": "k", "value": "v"}],
    )
    body = {"name": "copy", "description": "a copy", "enterprise_project_id": "0", "cmk_id": "kms-key"}
    job_id = owner.started("POST", f"/v1/cloudimages/{source_id}/copy", body)
    running = owner.job(job_id)
    assert running["job_type"] == "imsCopyImageInRegionJob" and running["status"] == "INIT"
    copy_id = running["entities"]["image_id"]
    assert running["entities"]["image_name"] == "copy" and owner.image(copy_id)["status"] == "queued"
    assert owner.wait(job_id)["status"] == "SUCCESS"
    source, copied = owner.image(source_id), owner.image(copy_id)
    assert copied is not None and source is not None and copied["status"] == "active"
    assert copied["__originalimagename"] == source_id and copied["owner"] == owner.project_id
    assert (copied["name"], copied["__description"], copied["__system__cmkid"]) == (
        "copy",
        "a copy",
        "kms-key",
    )
    same = (
        "min_disk",
        "max_ram",
        "__os_version",
        "__platform",
        "__data_origin",
        "__support_arm",
        "hw_firmware_type",
    )
    assert {k: copied[k] for k in same} == {k: source[k] for k in same}
    assert copied["tags"] == [] and copied["__imagetype"] == "private"
    # The v2.1 "safe mode" twin takes the same body.
    job = owner.done("POST", f"/v2.1/cloudimages/{source_id}/copy", {"name": "safe"})
    assert job["job_type"] == "imsCopyImageInRegionJob"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "IMG.0007"),
        ([], "IMG.0001"),
        ({"description": "no name"}, "IMG.0013"),
        ({"name": "x" * 129}, "IMG.0002"),
        ({"name": " padded"}, "IMG.0003"),
        ({"name": "ok", "description": "a<b"}, "IMG.0054"),
        ({"name": "ok", "description": "d" * 1025}, "IMG.0004"),
        ({"name": "ok", "cmk_id": " "}, "IMG.0095"),
        ({"name": "ok", "enterprise_project_id": "ep"}, "IMG.0154"),
        ({"name": "ok", "tags": ["a.b"]}, "IMG.0001"),
        ({"name": "ok", "min_ram": 1024}, "IMG.0001"),
    ],
)
def test_copy_body_is_checked(owner: Ims, body: Any, code: str) -> None:
    source_id = made(owner)
    refused(copy(owner, source_id, body), code)


def test_what_cannot_be_copied_in_region(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    refused(copy(owner, "00000000-0000-0000-0000-000000000000", {"name": "x"}), "IMG.0027", 404)
    iso = made(
        owner,
        name="iso",
        image_url=fx.ISO_OBJECT_URL,
        min_disk=40,
        os_version="Debian GNU/Linux 12.0.0 64bit",
    )
    refused(copy(owner, iso, {"name": "x"}), "IMG.0167")
    whole = two_regions.admin.add_image(name="whole", whole_image="CBR")["id"]
    refused(copy(owner, whole, {"name": "x"}), "IMG.0130")
    public = two_regions.admin.add_image(name="gold", public=True)["id"]
    refused(copy(owner, public, {"name": "x"}), "IMG.0106")
    saving = owner.job(owner.create({"name": "saving", "instance_id": fx.MULTIDISK_ECS_ID}))
    saving_id = saving["entities"]["image_id"]
    refused(copy(owner, saving_id, {"name": "x"}), "IMG.0046")
    mine = made(owner)
    refused(copy(member, mine, {"name": "x"}), "IMG.0027", 404)  # not shared: the member cannot see it
    two_regions.admin.update_settings(image_quota=4)  # iso, whole, saving and mine (not the public image)
    refused(copy(owner, mine, {"name": "x"}), "IMG.0015")


def test_a_member_copies_a_shared_image_once_accepted(
    two_regions: EmulatorServer, owner: Ims, member: Ims
) -> None:
    source = made(owner)
    owner.done("POST", "/v1/cloudimages/members", {"images": [source], "projects": [member.project_id]})
    refused(copy(member, source, {"name": "mine"}), "IMG.0196")
    answer = {"images": [source], "project_id": member.project_id, "status": "rejected"}
    member.done("PUT", "/v1/cloudimages/members", answer)
    refused(copy(member, source, {"name": "mine"}), "IMG.0196")
    member.done("PUT", "/v1/cloudimages/members", {**answer, "status": "accepted"})
    job = member.done("POST", f"/v1/cloudimages/{source}/copy", {"name": "mine"})
    copied = member.image(job["entities"]["image_id"])
    assert copied is not None and copied["owner"] == member.project_id and copied["__imagetype"] == "private"
    assert copied["__originalimagename"] == source
    # A shared image encrypted with KMS is not copied (IMG.0197), nor one over 128 GB (IMG.0059).
    for spec, code in (({"cmk_id": "key"}, "IMG.0197"), ({"image_size": 129 * 1024**3}, "IMG.0059")):
        planted = two_regions.admin.add_image(name="planted", **spec)["id"]
        two_regions.backend.regions[NORTH].members.record(
            two_regions.backend.jobs[job["job_id"]], planted, member.project_id, "add"
        )  # white-box: sharing an encrypted image is refused (IMG.0098), so the member record is planted
        two_regions.backend.regions[NORTH].members.record(
            two_regions.backend.jobs[job["job_id"]], planted, member.project_id, "update", "accepted"
        )
        refused(copy(member, planted, {"name": "x"}), code)


def test_a_failed_copy_job_leaves_no_copy(owner: Ims) -> None:
    source = made(owner)
    owner.admin.fail_next_job("IMG.0061", "copy failed")
    job = owner.wait(owner.started("POST", f"/v1/cloudimages/{source}/copy", {"name": "doomed"}))
    assert job["status"] == "FAIL" and job["error_code"] == "IMG.0061" and "image_id" not in job["entities"]
    assert [i["id"] for i in owner.listed()] == [source]


@pytest.mark.parametrize("marks", ["none", "source's"])
def test_what_a_copy_takes_of_its_sources_tags_and_custom_attributes(
    owner: Ims, owner_south: Ims, marks: str
) -> None:
    """IMS does not say whether a copy takes its source's tags and custom attributes: by default (inferred)
    it takes neither; the ``copy_marks`` setting "source's" serves the other reading, within a region and
    across."""
    owner.admin.update_settings(copy_marks=marks)
    source = made(owner, name="src", instance_id=fx.SEED_ECS_ID, image_tags=[{"key": "k", "value": "v"}])
    mark = [
        {"op": "add", "path": "/made_by", "value": "me"},
        {"op": "add", "path": "/min_ram", "value": 1024},
    ]
    assert owner.patch(f"/v2/cloudimages/{source}", json=mark).ok
    inside = owner.done("POST", f"/v1/cloudimages/{source}/copy", {"name": "near"})["entities"]["image_id"]
    response = cross(owner, source)
    assert response.status_code == 200, response.text
    far_id = owner.wait(response.json()["job_id"])["entities"]["image_id"]
    for copied in (owner.image(inside), owner_south.image(far_id)):
        assert copied is not None and copied["min_ram"] == 1024  # inherited either way
        if marks == "none":
            assert "made_by" not in copied and copied["tags"] == []
        else:
            assert copied["made_by"] == "me" and copied["tags"] == ["k.v"]
    with pytest.raises(AdminError, match="copy_marks must be one of"):
        owner.admin.update_settings(copy_marks="some")


# ------------------------------------------------------------------ across regions


def test_cross_region_copy(two_regions: EmulatorServer, owner: Ims, owner_south: Ims) -> None:
    source_id = made(owner, name="src", instance_id=fx.SEED_ECS_ID, image_tags=[{"key": "k", "value": "v"}])
    response = cross(owner, source_id, name="far", description="over there")
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    job = owner.job(job_id)
    assert job["job_type"] == "imsCrossRegionCopyImageJob" and job["entities"]["image_name"] == "far"
    copy_id = job["entities"]["image_id"]
    # The copy is in the target region, owned by the caller's project there; the job only in the source.
    assert owner.image(copy_id) is None
    far = owner_south.image(copy_id)
    assert far is not None and far["status"] == "queued" and far["owner"] == owner_south.project_id
    refused(owner_south.get(f"/v1/cloudimages/job/{job_id}"), "IMG.0086", 404)
    both = owner.get(f"/v1/{owner.project_id}/jobs/{job_id}").json()
    assert both == owner.job(job_id)
    assert owner.wait(job_id)["status"] == "SUCCESS"
    far = owner_south.image(copy_id)
    assert far is not None and far["status"] == "active" and far["__originalimagename"] == source_id
    assert far["name"] == "far" and far["__description"] == "over there" and far["tags"] == []
    assert far["__os_version"] == "CentOS 7.9 64bit" and far["enterprise_project_id"] == "0"
    # The copy is the target project's: it is changed, tagged and deleted there.
    assert owner_south.patch(
        f"/v2/cloudimages/{copy_id}", json=[{"op": "add", "path": "/max_ram", "value": 2048}]
    ).ok
    assert owner_south.delete(f"/v2/images/{copy_id}").status_code == 204


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"region": NORTH, "project_name": NORTH}, "IMG.0001"),
        ({"region": "eu-west-0", "project_name": "eu-west-0"}, "IMG.0001"),
        ({"project_name": "cn-south-1_sub"}, "IMG.0145"),
        ({"agency_name": "no_such_agency"}, "IMG.0179"),
        ({"region": ""}, "IMG.0001"),
        ({"project_name": ""}, "IMG.0001"),
        ({"agency_name": ""}, "IMG.0001"),
        ({"name": ""}, "IMG.0013"),
        ({"cmk_id": "key"}, "IMG.0001"),
        ({"vault_id": "no-such-vault"}, "IMG.0184"),
    ],
)
def test_cross_region_body_is_checked(owner: Ims, body: dict[str, Any], code: str) -> None:
    source_id = made(owner)
    full = {"name": "far", "region": SOUTH, "project_name": SOUTH, "agency_name": AGENCY, **body}
    response = owner.post(
        f"/v1/cloudimages/{source_id}/cross_region_copy", json={k: v for k, v in full.items() if v != ""}
    )
    refused(response, code)


def test_what_cannot_be_copied_across_regions(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    iso = made(
        owner,
        name="iso",
        image_url=fx.ISO_OBJECT_URL,
        min_disk=40,
        os_version="Debian GNU/Linux 12.0.0 64bit",
    )
    refused(cross(owner, iso), "IMG.0167")
    encrypted = made(owner, name="enc", image_url=fx.SEED_OBJECT_URL, min_disk=40, cmk_id="kms-key")
    refused(cross(owner, encrypted), "IMG.0105")
    big = two_regions.admin.add_image(name="big", image_size=129 * 1024**3)["id"]
    refused(cross(owner, big), "IMG.0059")
    saving = owner.job(owner.create({"name": "saving", "instance_id": fx.MULTIDISK_ECS_ID}))
    saving_id = saving["entities"]["image_id"]
    refused(cross(owner, saving_id), "IMG.0046")
    # A shared image is replicated only within its region: the member cannot copy it to another region.
    shared = made(owner)
    owner.done("POST", "/v1/cloudimages/members", {"images": [shared], "projects": [member.project_id]})
    member.done(
        "PUT",
        "/v1/cloudimages/members",
        {"images": [shared], "project_id": member.project_id, "status": "accepted"},
    )
    refused(cross(member, shared), "IMG.0106")


def test_a_full_ecs_image_needs_a_replication_vault_in_the_target_region(
    two_regions: EmulatorServer, owner: Ims, owner_south: Ims
) -> None:
    whole = two_regions.admin.add_image(name="whole", whole_image="CBR")["id"]
    refused(cross(owner, whole), "IMG.0001")
    two_regions.admin.add_vault(id="backup-vault", kind="backup", region=SOUTH)
    two_regions.admin.add_vault(id="north-vault", region=NORTH)
    refused(cross(owner, whole, vault_id="backup-vault"), "IMG.0189")
    refused(cross(owner, whole, vault_id="north-vault"), "IMG.0184")
    two_regions.admin.add_vault(id="replica-vault", region=SOUTH)
    response = cross(owner, whole, vault_id="replica-vault")
    job = owner.wait(response.json()["job_id"])
    copied = owner_south.image(job["entities"]["image_id"])
    assert copied is not None and copied["__whole_image"] == "true"


def test_another_agency_works_once_the_account_has_it(two_regions: EmulatorServer, owner: Ims) -> None:
    source = made(owner)
    refused(cross(owner, source, agency_name="pipeline_agency"), "IMG.0179")
    two_regions.admin.add_agency("default", "pipeline_agency")
    assert cross(owner, source, agency_name="pipeline_agency").status_code == 200


def test_at_most_five_cross_region_copies_run_at_once(two_regions: EmulatorServer, owner: Ims) -> None:
    source = made(owner)
    two_regions.admin.hang_next_job(count=5)
    for index in range(5):
        assert cross(owner, source, name=f"far-{index}").status_code == 200
    refused(cross(owner, source, name="sixth"), "IMG.0060")
    assert copy(owner, source, {"name": "in region is not limited"}).status_code == 200


def test_the_target_projects_quota_counts(two_regions: EmulatorServer, owner: Ims, owner_south: Ims) -> None:
    source = made(owner)
    two_regions.admin.update_settings(image_quota=1)
    server = two_regions.admin.add_server(region=SOUTH)
    owner_south.create({"name": "fills the south", "instance_id": server["id"]})
    refused(cross(owner, source), "IMG.0015")


def test_a_failed_cross_region_job_leaves_no_copy(owner: Ims, owner_south: Ims) -> None:
    source = made(owner)
    owner.admin.add_fault(
        kind="job_fail", error_code="IMG.0179", fail_reason="agency token", path=".*cross_region_copy"
    )
    job = owner.wait(cross(owner, source).json()["job_id"])
    assert job["status"] == "FAIL" and job["error_code"] == "IMG.0179"
    assert owner_south.listed() == []
