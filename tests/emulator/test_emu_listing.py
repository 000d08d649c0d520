"""GET /v2/cloudimages as lookups use it: every filter, sorting, marker paging, and the refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from emu_support import Ims, ims_error

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx


@pytest.fixture
def catalogue(two_regions: EmulatorServer, owner: Ims) -> dict[str, str]:
    """Images of several kinds in cn-north-4, by role; created a minute apart (manual clock)."""
    admin = two_regions.admin
    ids: dict[str, str] = {}
    web_tag = [{"key": "tier", "value": "web"}]
    bodies: dict[str, dict[str, Any]] = {
        "centos": {"name": "golden-centos", "instance_id": fx.SEED_ECS_ID, "image_tags": web_tag},
        "arm": {
            "name": "golden-arm",
            "image_url": fx.QUICK_IMPORT_OBJECT_URL,
            "min_disk": 40,
            "is_quick_import": True,
            "os_version": "Ubuntu 22.04 server 64bit",
            "architecture": "arm",
            "enterprise_project_id": "12345678-1234-1234-1234-123456789012",
        },
        "data": {"data_images": [{"name": "golden-data", "volume_id": fx.SEED_DATA_VOLUME_ID}]},
    }
    for role, body in bodies.items():
        job = owner.done("POST", "/v2/cloudimages/action", body)
        entities = job["entities"]
        ids[role] = entities.get("image_id") or entities["sub_jobs_result"][0]["entities"]["image_id"]
        admin.advance(60)
    ids["gold"] = admin.add_image(
        name="Ubuntu 22.04 public", public=True, os_version="Ubuntu 22.04 server 64bit"
    )["id"]
    ids["saving"] = owner.job(owner.create({"name": "golden-saving", "instance_id": fx.MULTIDISK_ECS_ID}))[
        "entities"
    ]["image_id"]
    return ids


def ids(ims: Ims, **params: Any) -> list[str]:
    return [image["id"] for image in ims.listed(**params)]


def test_the_default_list_is_own_and_public_images_newest_first(
    owner: Ims, catalogue: dict[str, str]
) -> None:
    assert ids(owner) == [catalogue[r] for r in ("saving", "gold", "data", "arm", "centos")]


@pytest.mark.parametrize(
    ("params", "roles"),
    [
        ({"name": "golden-arm"}, ["arm"]),
        ({"name": "golden"}, []),  # exact match
        ({"status": "active"}, ["gold", "data", "arm", "centos"]),
        ({"status": "queued"}, ["saving"]),
        ({"__imagetype": "private"}, ["saving", "data", "arm", "centos"]),
        ({"__imagetype": "gold"}, ["gold"]),
        ({"__imagetype": "market"}, []),
        ({"visibility": "public"}, ["gold"]),
        ({"protected": "true"}, ["gold"]),
        ({"virtual_env_type": "DataImage"}, ["data"]),
        ({"virtual_env_type": "FusionCompute", "status": "active"}, ["gold", "arm", "centos"]),
        ({"__platform": "Ubuntu"}, ["gold", "arm"]),
        ({"__os_type": "Linux", "__imagetype": "private", "status": "active"}, ["data", "arm", "centos"]),
        ({"__os_version": "CentOS 7.9 64bit"}, ["centos"]),
        ({"__os_bit": "64", "__imagetype": "gold"}, ["gold"]),
        ({"architecture": "arm"}, ["arm"]),
        ({"architecture": "x86", "status": "active"}, ["gold", "data", "centos"]),
        ({"enterprise_project_id": "12345678-1234-1234-1234-123456789012"}, ["arm"]),
        ({"enterprise_project_id": "0", "status": "active"}, ["gold", "data", "centos"]),
        ({"enterprise_project_id": "all_granted_eps", "status": "active"}, ["gold", "data", "arm", "centos"]),
        ({"tag": "tier=web"}, ["centos"]),
        ({"tag": "tier=db"}, []),
        ({"tag": "tier"}, ["centos"]),
        ({"__support_kvm": "true", "__imagetype": "private", "status": "active"}, ["data", "arm", "centos"]),
        ({"sort_key": "name", "sort_dir": "asc", "status": "active"}, ["gold", "arm", "centos", "data"]),
        ({"sort_key": "name", "sort_dir": "desc", "status": "active"}, ["data", "centos", "arm", "gold"]),
        ({"sort_dir": "asc", "__imagetype": "private"}, ["centos", "arm", "data", "saving"]),
        (
            {"sort_key": "size", "sort_dir": "asc", "__imagetype": "private"},
            ["arm", "centos", "saving", "data"],
        ),
    ],
)
def test_filters(owner: Ims, catalogue: dict[str, str], params: dict[str, str], roles: list[str]) -> None:
    assert ids(owner, **params) == [catalogue[r] for r in roles]


def test_the_owner_filter_and_ids(owner: Ims, catalogue: dict[str, str]) -> None:
    assert ids(owner, owner=owner.project_id, id=catalogue["arm"]) == [catalogue["arm"]]
    assert ids(owner, owner=owner.project_id, __imagetype="gold") == []


def test_time_filters(owner: Ims, catalogue: dict[str, str]) -> None:
    created = {r: owner.image(catalogue[r])["created_at"] for r in ("centos", "arm", "data")}  # type: ignore[index]
    arm = datetime.strptime(created["arm"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    active = {"__imagetype": "private", "status": "active"}
    assert ids(owner, created_at=f"gt:{created['arm']}", **active) == [catalogue["data"]]
    assert ids(owner, created_at=f"gte:{created['arm']}", **active) == [catalogue["data"], catalogue["arm"]]
    assert ids(owner, created_at=f"lt:{created['arm']}", **active) == [catalogue["centos"]]
    assert ids(owner, created_at=f"lte:{created['arm']}", **active) == [catalogue["arm"], catalogue["centos"]]
    assert ids(owner, created_at=f"eq:{created['arm']}", **active) == [catalogue["arm"]]
    assert ids(owner, created_at=f"neq:{created['arm']}", **active) == [
        catalogue["data"],
        catalogue["centos"],
    ]
    spaced = (arm + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert ids(owner, created_at=f"lt:{spaced}", **active) == [catalogue["arm"], catalogue["centos"]]
    assert ids(owner, updated_at="gt:2999-01-01T00:00:00Z", **active) == []
    assert len(ids(owner, updated_at="lt:2999-01-01T00:00:00Z", **active)) == 3


def test_marker_paging_walks_every_image_once(owner: Ims, catalogue: dict[str, str]) -> None:
    everything = ids(owner, sort_key="name", sort_dir="asc")
    seen: list[str] = []
    marker = None
    while True:
        params: dict[str, Any] = {"sort_key": "name", "sort_dir": "asc", "limit": 2}
        if marker:
            params["marker"] = marker
        page = ids(owner, **params)
        if not page:
            break
        seen += page
        marker = page[-1]
    assert seen == everything and len(seen) == 5
    assert ids(owner, marker=everything[0], limit=1000, sort_key="name", sort_dir="desc") == []
    assert ids(owner, sort_key="name", sort_dir="asc", marker=everything[-1]) == []


@pytest.mark.parametrize(
    "params",
    [
        {"marker": "00000000-0000-0000-0000-000000000000"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"sort_key": "owner"},
        {"sort_dir": "up"},
        {"__imagetype": "public"},
        {"visibility": "everyone"},
        {"architecture": "risc-v"},
        {"created_at": "2024-01-01T00:00:00Z"},
        {"created_at": "after:2024-01-01T00:00:00Z"},
        {"updated_at": "gt:yesterday"},
        {"member_status": "accepted"},
    ],
)
def test_malformed_queries_are_refused(owner: Ims, params: dict[str, str]) -> None:
    response = owner.get("/v2/cloudimages", params=params)
    assert response.status_code == 400 and ims_error(response) == "IMG.0001"


def test_the_default_page_is_500_images(two_regions: EmulatorServer, owner: Ims) -> None:
    for index in range(501):
        two_regions.backend.add_image({"name": f"bulk-{index:03d}"})
    page = ids(owner)
    assert len(page) == 500
    assert len(ids(owner, marker=page[-1])) == 1


def test_a_planted_image_of_an_unknown_tenant_is_visible_to_every_caller(
    two_regions: EmulatorServer, owner: Ims, member: Ims
) -> None:
    planted = two_regions.backend.add_image({"name": "foreign"})["id"]
    two_regions.backend.images[planted].attrs["owner"] = "0123456789abcdef"
    assert ids(owner, id=planted) == ids(member, id=planted) == [planted]
    response = owner.delete(f"/v2/images/{planted}")
    assert response.status_code == 400 and ims_error(response) == "IMG.0092"


def test_public_images_cannot_be_deleted(two_regions: EmulatorServer, owner: Ims) -> None:
    gold = two_regions.admin.add_image(name="gold", public=True)["id"]
    response = owner.delete(f"/v2/images/{gold}")
    assert response.status_code == 400 and ims_error(response) == "IMG.0094"
