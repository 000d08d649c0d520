"""Sharing: members added pending by a job, accepted or rejected by the member, removed by the owner; what
each side lists; the member APIs' reads and paging; every rule with its code."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from conftest import SOUTH
from emu_support import Ims, ims_error

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx

MEMBERS = "/v1/cloudimages/members"


def made(ims: Ims, name: str = "golden") -> str:
    job = ims.done("POST", "/v2/cloudimages/action", {"name": name, "instance_id": fx.SEED_ECS_ID})
    return str(job["entities"]["image_id"])


def refused(response: Any, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert ims_error(response) == code, response.text


def share(owner: Ims, image_id: str, *projects: str) -> dict[str, Any]:
    return owner.done("POST", MEMBERS, {"images": [image_id], "projects": list(projects)})


def answer(member: Ims, image_id: str, status: str) -> dict[str, Any]:
    return member.done(
        "PUT", MEMBERS, {"images": [image_id], "project_id": member.project_id, "status": status}
    )


def shared_list(member: Ims, status: str) -> list[str]:
    return [i["id"] for i in member.listed(visibility="shared", __imagetype="shared", member_status=status)]


def test_share_accept_reject_and_stop(owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    job_id = owner.started("POST", MEMBERS, {"images": [image_id], "projects": [member.project_id]})
    running = owner.job(job_id)
    assert running["job_type"] == "imsAddImageMembersJob" and "results" not in running["entities"]
    assert member.listed() == [] and shared_list(member, "pending") == []  # not a member until the job ends
    done = owner.wait(job_id)
    assert done["entities"]["results"] == [
        {"image_id": image_id, "project_id": member.project_id, "status": "success"}
    ]
    # Pending: listed only when asked for; readable by ID; the owner now sees a shared image.
    assert member.listed() == [] and member.listed(id=image_id) == []
    assert shared_list(member, "pending") == [image_id]
    shown = member.get(f"/v2/images/{image_id}").json()
    assert (shown["visibility"], shown["__imagetype"], shown["member_status"]) == (
        "shared",
        "shared",
        "pending",
    )
    assert [i["__imagetype"] for i in owner.listed(id=image_id)] == ["shared"]
    assert owner.listed(__imagetype="private") == []

    job = answer(member, image_id, "accepted")
    assert job["job_type"] == "imsUpdateImageMembersJob"
    assert job["entities"]["results"] == [
        {"image_id": image_id, "project_id": member.project_id, "status": "success"}
    ]
    (listed,) = member.listed()
    assert (
        listed["id"] == image_id
        and listed["owner"] == owner.project_id
        and listed["member_status"] == "accepted"
    )
    assert shared_list(member, "accepted") == [image_id] and shared_list(member, "pending") == []
    assert [i["id"] for i in member.listed(__imagetype="shared")] == [image_id]

    answer(member, image_id, "rejected")
    assert member.listed() == [] and shared_list(member, "rejected") == [image_id]
    answer(member, image_id, "accepted")  # a rejected image can be accepted again
    assert [i["id"] for i in member.listed()] == [image_id]

    job = owner.done("DELETE", MEMBERS, {"images": [image_id], "projects": [member.project_id]})
    assert job["job_type"] == "imsDelImageMembersJob" and job["entities"]["results"] == []
    assert member.listed() == [] and shared_list(member, "accepted") == []
    refused(member.get(f"/v2/images/{image_id}"), "IMG.0027", 404)
    assert owner.listed(id=image_id)[0]["__imagetype"] == "private"


def test_a_member_may_not_change_a_shared_image(owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    share(owner, image_id, member.project_id)
    answer(member, image_id, "accepted")
    patch = [{"op": "replace", "path": "/name", "value": "mine now"}]
    refused(member.patch(f"/v2/cloudimages/{image_id}", json=patch), "IMG.0047")
    tags = {"action": "create", "tags": [{"key": "k", "value": "v"}]}
    refused(member.post(f"/v2/{member.project_id}/images/{image_id}/tags/action", json=tags), "IMG.0047")
    refused(member.delete(f"/v2/images/{image_id}"), "IMG.0092")
    refused(member.post(MEMBERS, json={"images": [image_id], "projects": [owner.project_id]}), "IMG.0106")
    refused(member.delete(MEMBERS, json={"images": [image_id], "projects": [member.project_id]}), "IMG.0106")
    assert member.get(f"/v2/{member.project_id}/images/{image_id}/tags").json() == {"tags": []}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "IMG.0007"),
        ({"images": [], "projects": ["p"]}, "IMG.0001"),
        ({"images": ["i"]}, "IMG.0001"),
        ({"images": "i", "projects": ["p"]}, "IMG.0001"),
        ({"images": ["i"], "projects": [""]}, "IMG.0001"),
        ({"images": ["i"], "projects": ["p"], "colour": "blue"}, "IMG.0001"),
        ({"images": ["i"], "projects": ["p"], "domains": ["d"]}, "IMG.0105"),
    ],
)
def test_member_bodies_are_checked(owner: Ims, body: dict[str, Any], code: str) -> None:
    refused(owner.post(MEMBERS, json=body), code)
    refused(owner.delete(MEMBERS, json=body), code)


def test_who_can_be_a_member(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    body = {"images": [image_id]}
    refused(owner.post(MEMBERS, json={**body, "projects": [owner.project_id]}), "IMG.0076")
    refused(owner.post(MEMBERS, json={**body, "projects": ["0" * 32]}), "IMG.0108")
    south_member = two_regions.project_for(SOUTH, "member")
    refused(owner.post(MEMBERS, json={**body, "projects": [south_member]}), "IMG.0177")
    refused(
        owner.post(MEMBERS, json={"images": ["no-such-image"], "projects": [member.project_id]}),
        "IMG.0027",
        404,
    )


def test_what_cannot_be_shared(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    projects = [member.project_id]
    admin = two_regions.admin
    cases = {
        admin.add_image(name="gold", public=True)["id"]: "IMG.0089",
        admin.add_image(name="encrypted", cmk_id="kms-key")["id"]: "IMG.0098",
        admin.add_image(name="whole-csbs", whole_image="CSBS")["id"]: "IMG.0135",
    }
    saving = owner.job(owner.create({"name": "saving", "instance_id": fx.SEED_ECS_ID}))["entities"][
        "image_id"
    ]
    cases[saving] = "IMG.0046"
    for image_id, code in cases.items():
        refused(owner.post(MEMBERS, json={"images": [image_id], "projects": projects}), code)


def test_member_quota(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    third = two_regions.admin.add_account(name="third", access_key="THIRDKEY", secret_key="THIRDSECRET")
    third_project = third["projects"][owner.region]
    image_id = made(owner)
    two_regions.admin.update_settings(member_quota=1)
    refused(
        owner.post(MEMBERS, json={"images": [image_id], "projects": [member.project_id, third_project]}),
        "IMG.0088",
    )
    owner.started("POST", MEMBERS, {"images": [image_id], "projects": [member.project_id]})
    # The member being added counts while its job runs; adding it again is no new member.
    refused(owner.post(MEMBERS, json={"images": [image_id], "projects": [third_project]}), "IMG.0088")
    assert (
        owner.post(MEMBERS, json={"images": [image_id], "projects": [member.project_id]}).status_code == 200
    )
    # A full-ECS image made from a CBR backup can be shared with at most 10 projects.
    two_regions.admin.update_settings(member_quota=256)
    whole = two_regions.admin.add_image(name="whole", whole_image="CBR")["id"]
    many = [
        two_regions.admin.add_account(name=f"a{n}", access_key=f"K{n}", secret_key="S")["projects"][
            owner.region
        ]
        for n in range(11)
    ]
    refused(owner.post(MEMBERS, json={"images": [whole], "projects": many}), "IMG.0088")
    assert owner.post(MEMBERS, json={"images": [whole], "projects": many[:10]}).status_code == 200


def test_accepting_a_full_ecs_image_needs_a_vault(
    two_regions: EmulatorServer, owner: Ims, member: Ims
) -> None:
    whole = two_regions.admin.add_image(name="whole", whole_image="CBR")["id"]
    share(owner, whole, member.project_id)
    body = {"images": [whole], "project_id": member.project_id, "status": "accepted"}
    refused(member.put(MEMBERS, json=body), "IMG.0001")
    refused(member.put(MEMBERS, json={**body, "vault_id": "no-such-vault"}), "IMG.0184")
    two_regions.admin.add_vault(id="member-vault", account="member")
    member.done("PUT", MEMBERS, {**body, "vault_id": "member-vault"})
    assert [i["id"] for i in member.listed()] == [whole]
    assert (
        member.done("PUT", MEMBERS, {**body, "status": "rejected"})["status"] == "SUCCESS"
    )  # no vault needed


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"status": "maybe"}, "IMG.0001", 400),
        ({"status": None}, "IMG.0001", 400),
        ({"images": []}, "IMG.0001", 400),
        ({"project_id": None}, "IMG.0001", 400),
        ({"extra": 1}, "IMG.0001", 400),
        ({"project_id": "0" * 32}, "IMG.0026", 403),
    ],
)
def test_answers_are_checked(owner: Ims, member: Ims, body: dict[str, Any], code: str, status: int) -> None:
    image_id = made(owner)
    share(owner, image_id, member.project_id)
    full = {"images": [image_id], "project_id": member.project_id, "status": "accepted", **body}
    refused(member.put(MEMBERS, json={k: v for k, v in full.items() if v is not None}), code, status)


def test_only_a_member_answers(owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    refused(
        member.put(
            MEMBERS, json={"images": [image_id], "project_id": member.project_id, "status": "accepted"}
        ),
        "IMG.0027",
        404,
    )
    body = {"images": [image_id], "project_id": owner.project_id, "status": "accepted"}
    refused(owner.put(MEMBERS, json=body), "IMG.0114", 404)


def test_removing_a_non_member_succeeds_and_changes_nothing(owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    job = owner.done("DELETE", MEMBERS, {"images": [image_id], "projects": [member.project_id]})
    assert job["status"] == "SUCCESS"
    share(owner, image_id, member.project_id)
    share(owner, image_id, member.project_id)  # adding an existing member changes nothing
    members = owner.get(f"/v1/{owner.project_id}/cloudimages/{image_id}/members").json()["members"]
    assert [(m["member_id"], m["status"]) for m in members] == [(member.project_id, "pending")]


def test_a_failed_member_job_changes_nothing(owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    owner.admin.fail_next_job("IMG.0112", "Failed to add the tenant.")
    job = owner.wait(owner.started("POST", MEMBERS, {"images": [image_id], "projects": [member.project_id]}))
    assert job["status"] == "FAIL" and job["error_code"] == "IMG.0112" and "results" not in job["entities"]
    assert shared_list(member, "pending") == []


def test_member_jobs_run_member_job_seconds(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    two_regions.admin.update_settings(member_job_seconds=2)
    job_id = owner.started("POST", MEMBERS, {"images": [image_id], "projects": [member.project_id]})
    two_regions.admin.advance(1)
    assert owner.job(job_id)["status"] == "RUNNING"
    two_regions.admin.advance(1)
    assert owner.job(job_id)["status"] == "SUCCESS"


def test_list_and_show_members(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    others = [
        two_regions.admin.add_account(name=f"m{n}", access_key=f"MKEY{n}", secret_key="S")["projects"][
            owner.region
        ]
        for n in range(3)
    ]
    for project in [member.project_id, *others]:
        share(owner, image_id, project)  # one job each: the members are listed in the order they were added
    answer(member, image_id, "accepted")
    path = f"/v1/{owner.project_id}/cloudimages/{image_id}/members"
    everyone = owner.get(path).json()
    assert everyone["schema"] == "/v2/schemas/members" and everyone["page_info"] == {"current_count": 4}
    first = everyone["members"][0]
    assert set(first) == {
        "member_id",
        "member_type",
        "status",
        "created_at",
        "updated_at",
        "image_id",
        "schema",
    }
    assert (first["member_id"], first["status"], first["member_type"]) == (
        member.project_id,
        "accepted",
        "project",
    )
    assert first["schema"] == "/v2/schemas/member" and first["image_id"] == image_id
    # Pages of 3: the marker is the Base64 of the last member ID of the previous page.
    page = owner.get(path, params={"limit": 3}).json()
    assert [m["member_id"] for m in page["members"]] == [member.project_id, *others[:2]]
    marker = page["page_info"]["next_marker"]
    assert base64.b64decode(marker).decode() == others[1]
    rest = owner.get(path, params={"limit": 3, "marker": marker}).json()
    assert [m["member_id"] for m in rest["members"]] == [others[2]] and "next_marker" not in rest["page_info"]
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"limit": "x"},
        {"marker": "not base64!"},
        {"marker": base64.b64encode(b"nobody").decode()},
    ):
        refused(owner.get(path, params=params), "IMG.0001")
    # One member, by ID, from either API; a member sees only its own record.
    one = owner.get(f"{path}/{member.project_id}").json()
    assert (
        one
        == everyone["members"][0]
        == owner.get(f"/v2/images/{image_id}/members/{member.project_id}").json()
    )
    refused(owner.get(f"{path}/{'0' * 32}"), "IMG.0114", 404)
    glance = owner.get(f"/v2/images/{image_id}/members").json()
    assert glance == {"members": everyone["members"], "schema": "/v2/schemas/members"}
    mine = member.get(f"/v1/{member.project_id}/cloudimages/{image_id}/members").json()["members"]
    assert [m["member_id"] for m in mine] == [member.project_id]
    refused(
        member.get(f"/v1/{member.project_id}/cloudimages/{image_id}/members/{others[0]}"), "IMG.0114", 404
    )
    refused(owner.get(f"/v1/{member.project_id}/cloudimages/{image_id}/members"), "IMG.0026", 403)


def test_deleting_an_image_removes_its_members(owner: Ims, member: Ims) -> None:
    image_id = made(owner)
    share(owner, image_id, member.project_id)
    answer(member, image_id, "accepted")
    assert owner.delete(f"/v2/images/{image_id}").status_code == 204
    assert member.listed() == [] and owner.admin.state()["members"] == []


def test_member_status_needs_visibility_shared(member: Ims) -> None:
    for params in ({"member_status": "accepted"}, {"member_status": "maybe", "visibility": "shared"}):
        refused(member.get("/v2/cloudimages", params=params), "IMG.0001")
