"""Two regions and two accounts at once, through real HTTP with real signatures: one listener per region,
each region's state its own, each account acting in its own project."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from conftest import NORTH, SOUTH
from emu_support import Ims, SdkSignedAuth, ims_error

from ims_provider.emulator import (
    DEFAULT_PROJECT_ID,
    MEMBER_ACCESS_KEY,
    MEMBER_SECRET_KEY,
    AdminError,
    EmulatorServer,
)
from ims_provider.emulator import fixtures as fx

# The documented project IDs (README "Regions and accounts"): derived from the domain and the region.
PROJECTS = {
    ("default", NORTH): DEFAULT_PROJECT_ID,
    ("default", SOUTH): "b0e1a5ce5d946a257f553e2c2a4409fc",
    ("member", NORTH): "f4ef1b279233f3cad1a9beb3dbc2f33e",
    ("member", SOUTH): "e8088d6b81c46766bcc7d4d3d75b3cca",
}


def test_every_region_has_its_own_listener(two_regions: EmulatorServer) -> None:
    assert two_regions.regions == (NORTH, SOUTH) and two_regions.region == NORTH
    assert two_regions.url == two_regions.url_for(NORTH) != two_regions.url_for(SOUTH)
    assert two_regions.port_for(SOUTH) != two_regions.port
    with pytest.raises(KeyError):
        two_regions.url_for("eu-west-0")


def test_documented_project_ids(two_regions: EmulatorServer) -> None:
    for (account, region), project_id in PROJECTS.items():
        assert two_regions.project_for(region, account) == project_id
    assert two_regions.project_id == DEFAULT_PROJECT_ID
    member = two_regions.account("member")
    assert (member.access_key, member.secret_key) == (MEMBER_ACCESS_KEY, MEMBER_SECRET_KEY)


@pytest.mark.parametrize("account", ["default", "member"])
def test_iam_names_the_callers_project_of_each_region_on_every_listener(
    two_regions: EmulatorServer, account: str
) -> None:
    for listener in (NORTH, SOUTH):
        ims = Ims(two_regions, account=account, region=listener)
        for region in (NORTH, SOUTH):
            (project,) = ims.get("/v3/projects", params={"name": region}).json()["projects"]
            assert project["id"] == PROJECTS[(account, region)] and project["name"] == region
            assert project["domain_id"] == two_regions.account(account).domain_id
        assert ims.get("/v3/projects", params={"name": "eu-west-0"}).json()["projects"] == []


def test_a_project_of_another_region_or_account_is_refused(two_regions: EmulatorServer) -> None:
    south = two_regions.url_for(SOUTH)
    for project in (PROJECTS[("default", NORTH)], PROJECTS[("member", SOUTH)]):
        auth = SdkSignedAuth(two_regions.access_key, two_regions.secret_key, project_id=project)
        response = requests.get(south + "/v2/cloudimages", auth=auth, timeout=10)
        assert response.status_code == 403 and ims_error(response) == "IMG.0026"
    south_project = PROJECTS[("default", SOUTH)]
    auth = SdkSignedAuth(two_regions.access_key, two_regions.secret_key, project_id=south_project)
    assert requests.get(south + "/v2/cloudimages", auth=auth, timeout=10).status_code == 200
    path = f"/v1/{PROJECTS[('default', NORTH)]}/jobs/0123456789abcdef0123456789abcdef"
    response = requests.get(south + path, auth=auth, timeout=10)
    assert response.status_code == 403 and ims_error(response) == "IMG.0026"


def test_a_wrong_secret_of_either_account_is_refused(two_regions: EmulatorServer) -> None:
    for access_key in (two_regions.access_key, MEMBER_ACCESS_KEY):
        auth = SdkSignedAuth(access_key, "WRONG")
        response = requests.get(two_regions.url_for(SOUTH) + "/v2/cloudimages", auth=auth, timeout=10)
        assert response.status_code == 401 and response.json()["error_code"] == "APIGW.0301"


def test_resources_images_and_jobs_stay_in_their_region(owner: Ims, owner_south: Ims) -> None:
    # The seeds are in the home region only; a server added to cn-south-1 exists there only.
    server = owner.admin.add_server(region=SOUTH, status="SHUTOFF")
    response = owner.post("/v2/cloudimages/action", json={"name": "n", "instance_id": server["id"]})
    assert response.status_code == 400 and ims_error(response) == "IMG.0005"
    response = owner_south.post("/v2/cloudimages/action", json={"name": "s", "instance_id": fx.SEED_ECS_ID})
    assert response.status_code == 400 and ims_error(response) == "IMG.0005"

    south_job = owner_south.create({"name": "south", "instance_id": server["id"]})
    north_job = owner.create({"name": "north", "instance_id": fx.SEED_ECS_ID})
    south_image = owner_south.wait(south_job)["entities"]["image_id"]
    north_image = owner.wait(north_job)["entities"]["image_id"]
    assert [i["id"] for i in owner_south.listed()] == [south_image]
    assert [i["id"] for i in owner.listed()] == [north_image]
    assert owner_south.listed()[0]["owner"] == PROJECTS[("default", SOUTH)]
    response = owner_south.get(f"/v1/cloudimages/job/{north_job}")
    assert response.status_code == 404 and ims_error(response) == "IMG.0086"
    response = owner.get(f"/v2/images/{south_image}")
    assert response.status_code == 404 and ims_error(response) == "IMG.0027"


def test_an_account_neither_sees_nor_touches_another_accounts_images(owner: Ims, member: Ims) -> None:
    job_id = owner.create({"name": "mine", "instance_id": fx.SEED_ECS_ID})
    image_id = owner.wait(job_id)["entities"]["image_id"]
    assert member.listed() == [] and member.listed(id=image_id) == []
    for response in (
        member.get(f"/v2/images/{image_id}"),
        member.patch(f"/v2/cloudimages/{image_id}", json=[{"op": "replace", "path": "/name", "value": "x"}]),
        member.delete(f"/v2/images/{image_id}"),
        member.get(f"/v2/{member.project_id}/images/{image_id}/tags"),
    ):
        assert response.status_code == 404 and ims_error(response) == "IMG.0027"
    response = member.get(f"/v1/cloudimages/job/{job_id}")
    assert response.status_code == 404 and ims_error(response) == "IMG.0086"
    # The member account has no seeded resources: the default account's ECS does not exist for it.
    response = member.post("/v2/cloudimages/action", json={"name": "x", "instance_id": fx.SEED_ECS_ID})
    assert response.status_code == 400 and ims_error(response) == "IMG.0005"


def test_quota_and_busy_ecs_count_per_project(two_regions: EmulatorServer, owner: Ims, member: Ims) -> None:
    two_regions.admin.update_settings(image_quota=1)
    owner.create({"name": "one", "instance_id": fx.SEED_ECS_ID})
    response = owner.post("/v2/cloudimages/action", json={"name": "two", "instance_id": fx.MULTIDISK_ECS_ID})
    assert response.status_code == 400 and ims_error(response) == "IMG.0015"
    # The member's project has its own quota, and its own ECS with the same ID is not busy.
    two_regions.admin.add_server(account="member", id=fx.SEED_ECS_ID, status="SHUTOFF")
    assert (
        member.wait(member.create({"name": "theirs", "instance_id": fx.SEED_ECS_ID}))["status"] == "SUCCESS"
    )
    quota = member.get("/v1/cloudimages/quota").json()["quotas"]["resources"]
    assert quota == [{"type": "image", "used": 1, "quota": 1, "min": 1, "max": 1000}]


def test_an_added_account_signs_with_its_own_keys(two_regions: EmulatorServer) -> None:
    added = two_regions.admin.add_account(name="third", access_key="THIRDKEY", secret_key="THIRDSECRET")
    assert "secret_key" not in added and set(added["projects"]) == {NORTH, SOUTH}
    third = Ims(two_regions, account="third", region=SOUTH)
    assert third.project_id == added["projects"][SOUTH]
    assert third.listed() == []
    assert all("secret_key" not in a for a in two_regions.admin.accounts())
    with pytest.raises(AdminError) as taken:
        two_regions.admin.add_account(name="fourth", access_key="THIRDKEY", secret_key="S")
    assert taken.value.status == 400
    two_regions.admin.reset()
    assert [a["name"] for a in two_regions.admin.accounts()] == ["default", "member"]


def test_an_accounts_token_authenticates_in_every_region() -> None:
    accounts: list[dict[str, Any]] = [
        {"name": "tok", "access_key": "TOKKEY", "secret_key": "TOKSECRET", "auth_token": "token-of-tok"}
    ]
    with EmulatorServer(regions=(NORTH, SOUTH), accounts=accounts, auth_token="default-token") as emu:
        for region in (NORTH, SOUTH):
            url = emu.url_for(region) + "/v3/projects"
            mine = requests.get(url, headers={"X-Auth-Token": "token-of-tok"}, timeout=10).json()
            theirs = requests.get(url, headers={"X-Auth-Token": "default-token"}, timeout=10).json()
            assert {p["id"] for p in mine["projects"]} == {emu.project_for(r, "tok") for r in (NORTH, SOUTH)}
            assert {p["id"] for p in theirs["projects"]} == {emu.project_for(r) for r in (NORTH, SOUTH)}
        assert [a["name"] for a in emu.admin.accounts()] == ["default", "tok"]  # accounts= replaces "member"


def test_admin_state_and_log_are_per_region(two_regions: EmulatorServer, owner_south: Ims) -> None:
    server = two_regions.admin.add_server(region=SOUTH, status="SHUTOFF", account="member")
    state = two_regions.admin.state(region=SOUTH)
    assert [(s["id"], s["project_id"]) for s in state["servers"]] == [
        (server["id"], PROJECTS[("member", SOUTH)])
    ]
    assert state["regions"] == [NORTH, SOUTH] and state["home_region"] == NORTH
    assert {s["region"] for s in two_regions.admin.state()["servers"]} == {NORTH, SOUTH}
    owner_south.listed()
    (entry,) = two_regions.admin.requests(path="/v2/cloudimages")
    assert entry["region"] == SOUTH and two_regions.admin.requests(region=NORTH) == []
    with pytest.raises(AdminError) as unknown:
        two_regions.admin.state(region="eu-west-0")
    assert unknown.value.status == 404
    with pytest.raises(AdminError) as bad:
        two_regions.admin.add_server(region="eu-west-0")
    assert bad.value.status == 400


def test_a_fault_can_target_one_region(two_regions: EmulatorServer, owner: Ims, owner_south: Ims) -> None:
    two_regions.admin.add_fault(kind="status", status=503, region=SOUTH, count=5)
    assert owner.get("/v2/cloudimages").status_code == 200
    assert owner_south.get("/v2/cloudimages").status_code == 503


def test_the_defaults_serve_one_region_and_two_accounts() -> None:
    with EmulatorServer() as emu:
        assert emu.regions == (NORTH,) and emu.url == emu.url_for(NORTH)
        assert [a["name"] for a in emu.admin.accounts()] == ["default", "member"]


def test_region_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="home region"):
        EmulatorServer(region=SOUTH, regions=(NORTH, SOUTH))
    with pytest.raises(ValueError, match="twice"):
        EmulatorServer(regions=(NORTH, NORTH))
    with pytest.raises(ValueError, match="region id"):
        EmulatorServer(regions=(NORTH, "not a region"))
    assert EmulatorServer(region=SOUTH).region == SOUTH
