"""Reading, updating, tagging and deleting images, with the rules and codes the reference documents."""

from __future__ import annotations

from typing import Any

import pytest
from emu_support import Ims, ims_error

from ims_provider.emulator import fixtures as fx

OBS_BODY = {"name": "img", "image_url": fx.SEED_OBJECT_URL, "min_disk": 40}


def make_image(ims: Ims, **extra: Any) -> str:
    return str(ims.wait(ims.create({**OBS_BODY, **extra}))["entities"]["image_id"])


def patch(ims: Ims, image_id: str, ops: list[dict[str, Any]]) -> Any:
    return ims.patch(f"/v2/cloudimages/{image_id}", json=ops)


def test_list_filters_and_paging(mims: Ims) -> None:
    ids = [make_image(mims, name=f"img-{i}") for i in range(4)]
    listed = mims.get("/v2/cloudimages").json()["images"]
    assert [i["id"] for i in listed] == ids[::-1]  # newest first
    assert [i["name"] for i in mims.get("/v2/cloudimages", params={"name": "img-2"}).json()["images"]] == [
        "img-2"
    ]
    params = {"__imagetype": "private", "owner": mims.project_id, "status": "active"}
    assert len(mims.get("/v2/cloudimages", params=params).json()["images"]) == 4
    assert mims.get("/v2/cloudimages", params={"__imagetype": "gold"}).json()["images"] == []
    assert mims.get("/v2/cloudimages", params={"owner": "someone"}).json()["images"] == []
    assert mims.get("/v2/cloudimages", params={"status": "queued"}).json()["images"] == []
    page = mims.get("/v2/cloudimages", params={"limit": 2, "marker": ids[3]}).json()["images"]
    assert [i["id"] for i in page] == [ids[2], ids[1]]
    ascending = mims.get("/v2/cloudimages", params={"sort_dir": "asc"}).json()["images"]
    assert [i["id"] for i in ascending] == ids


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "x"}, {"limit": "²"}, {"marker": "nope"}, {"sort_dir": "up"}]
)
def test_list_rejects_bad_paging(ims: Ims, params: dict[str, str]) -> None:
    response = ims.get("/v2/cloudimages", params=params)
    assert response.status_code == 400 and ims_error(response) == "IMG.0001"


def test_show_image_and_404(mims: Ims) -> None:
    image_id = make_image(mims)
    assert mims.get(f"/v2/images/{image_id}").json()["id"] == image_id
    response = mims.get("/v2/images/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and ims_error(response) == "IMG.0027"


def test_update_returns_full_image(mims: Ims) -> None:
    image_id = make_image(mims)
    response = patch(
        mims,
        image_id,
        [
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "replace", "path": "/min_ram", "value": "1024"},
            {"op": "add", "path": "/max_ram", "value": 2048},
            {"op": "add", "path": "/__description", "value": "now described"},
            {"op": "add", "path": "/hw_firmware_type", "value": "uefi"},
            {"op": "add", "path": "/custom_owner", "value": "team-a"},
        ],
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    image = response.json()
    assert image["name"] == "renamed" and image["min_ram"] == 1024 and image["max_ram"] == "2048"
    assert image["__description"] == "now described" and image["custom_owner"] == "team-a"
    assert image["hw_firmware_type"] == "uefi"
    assert mims.image(image_id) == image


def test_update_sdk_and_terraform_content_types(mims: Ims) -> None:
    image_id = make_image(mims)
    for content_type in ("application/json;charset=UTF-8", "application/openstack-images-v2.1-json-patch"):
        response = mims.patch(
            f"/v2/cloudimages/{image_id}",
            data=b'[{"op": "replace", "path": "/name", "value": "x"}]',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 200


def test_replace_or_remove_of_a_missing_attribute_is_img0035(mims: Ims) -> None:
    image_id = make_image(mims)
    for op in (
        {"op": "replace", "path": "/__description", "value": "d"},
        {"op": "remove", "path": "/max_ram"},
    ):
        response = patch(mims, image_id, [op])
        assert response.status_code == 400 and ims_error(response) == "IMG.0035"
    assert patch(mims, image_id, [{"op": "add", "path": "/max_ram", "value": "512"}]).status_code == 200
    assert patch(mims, image_id, [{"op": "replace", "path": "/max_ram", "value": "1024"}]).status_code == 200
    assert patch(mims, image_id, [{"op": "remove", "path": "/max_ram"}]).status_code == 200
    image = mims.image(image_id)
    assert image is not None and "max_ram" not in image


UPDATE_CASES = [
    ([{"op": "replace", "path": "/name", "value": " x"}], "IMG.0003"),
    ([{"op": "replace", "path": "/name", "value": "n" * 129}], "IMG.0002"),
    ([{"op": "add", "path": "/__description", "value": "<b>"}], "IMG.0054"),
    ([{"op": "add", "path": "/__description", "value": "d" * 1025}], "IMG.0004"),
    ([{"op": "replace", "path": "/min_ram", "value": "-5"}], "IMG.0055"),
    ([{"op": "replace", "path": "/min_ram", "value": "²"}], "IMG.0055"),
    ([{"op": "replace", "path": "/min_ram", "value": "9" * 5000}], "IMG.0055"),
    (
        [
            {"op": "add", "path": "/max_ram", "value": 512},
            {"op": "replace", "path": "/min_ram", "value": 1024},
        ],
        "IMG.0055",
    ),
    ([{"op": "add", "path": "/hw_firmware_type", "value": "efi"}], "IMG.0141"),
    ([{"op": "replace", "path": "/enterprise_project_id", "value": "abc"}], "IMG.0154"),
    ([{"op": "replace", "path": "/status", "value": "active"}], "IMG.0001"),
    ([{"op": "add", "path": "/Custom", "value": "x"}], "IMG.0001"),
    ([{"op": "move", "path": "/name", "value": "x"}], "IMG.0001"),
    ([{"op": "remove", "path": "/name"}], "IMG.0001"),
    ([{"op": "replace", "path": "/name"}], "IMG.0001"),
    ([], "IMG.0001"),
    ({"op": "replace", "path": "/name", "value": "x"}, "IMG.0001"),
]


@pytest.mark.parametrize(("ops", "code"), UPDATE_CASES)
def test_update_rules(mims: Ims, ops: Any, code: str) -> None:
    image_id = make_image(mims)
    before = mims.image(image_id)
    response = patch(mims, image_id, ops)
    assert response.status_code == 400 and ims_error(response) == code
    assert mims.image(image_id) == before  # nothing applied


def test_only_active_images_can_be_updated(mims: Ims) -> None:
    image_id = mims.job(mims.create(OBS_BODY))["entities"]["image_id"]
    response = patch(mims, image_id, [{"op": "replace", "path": "/name", "value": "x"}])
    assert response.status_code == 400 and ims_error(response) == "IMG.0046"


def test_data_images_cannot_be_updated(mims: Ims) -> None:
    job = mims.wait(mims.create({"data_images": [{"name": "d", "volume_id": fx.SEED_DATA_VOLUME_ID}]}))
    image_id = job["entities"]["sub_jobs_result"][0]["entities"]["image_id"]
    response = patch(mims, image_id, [{"op": "replace", "path": "/name", "value": "x"}])
    assert response.status_code == 400 and ims_error(response) == "IMG.0168"


def test_update_unknown_image_is_404(mims: Ims) -> None:
    response = patch(
        mims, "00000000-0000-0000-0000-000000000000", [{"op": "add", "path": "/a", "value": "b"}]
    )
    assert response.status_code == 404


def tags_path(ims: Ims, image_id: str) -> str:
    return f"/v2/{ims.project_id}/images/{image_id}/tags"


def test_tags_create_upsert_delete(mims: Ims) -> None:
    image_id = make_image(mims, tags=["aaa.111"])
    action = tags_path(mims, image_id) + "/action"
    response = mims.post(
        action, json={"action": "create", "tags": [{"key": "aaa", "value": "222"}, {"key": "b", "value": ""}]}
    )
    assert response.status_code == 204 and response.content == b"" and "Content-Type" not in response.headers
    assert mims.get(tags_path(mims, image_id)).json() == {
        "tags": [{"key": "aaa", "value": "222"}, {"key": "b", "value": ""}]
    }
    image = mims.image(image_id)
    assert image is not None and image["tags"] == ["aaa.222", "b."]
    deleted = mims.post(
        action, json={"action": "delete", "tags": [{"key": "aaa", "value": "222"}, {"key": "zzz"}]}
    )
    assert deleted.status_code == 204
    assert mims.get(tags_path(mims, image_id)).json() == {"tags": [{"key": "b", "value": ""}]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "create", "tags": [{"key": f"k{i}", "value": "v"} for i in range(11)]}, "IMG.0116"),
        ({"action": "create", "tags": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}, "IMG.0115"),
        ({"action": "create", "tags": [{"key": "k" * 37, "value": "v"}]}, "IMG.0115"),
        ({"action": "create", "tags": [{"key": "k", "value": "v" * 44}]}, "IMG.0115"),
        ({"action": "create", "tags": [{"key": "k"}]}, "IMG.0115"),
        ({"action": "Create", "tags": [{"key": "k", "value": "v"}]}, "IMG.0001"),
        ({"action": "create", "tags": []}, "IMG.0115"),
        ({}, "IMG.0007"),
    ],
)
def test_tag_rules(mims: Ims, body: Any, code: str) -> None:
    image_id = make_image(mims)
    response = mims.post(tags_path(mims, image_id) + "/action", json=body)
    assert response.status_code == 400 and ims_error(response) == code


def test_tag_quota_counts_existing_tags(mims: Ims) -> None:
    image_id = make_image(mims, tags=[f"k{i}.v" for i in range(9)])
    action = tags_path(mims, image_id) + "/action"
    two = {"action": "create", "tags": [{"key": "x", "value": "1"}, {"key": "y", "value": "2"}]}
    response = mims.post(action, json=two)
    assert response.status_code == 400 and ims_error(response) == "IMG.0116"
    assert (
        mims.post(action, json={"action": "create", "tags": [{"key": "k0", "value": "new"}]}).status_code
        == 204
    )


def test_delete(mims: Ims) -> None:
    image_id = make_image(mims)
    assert mims.delete(f"/v2/images/{image_id}", json={"delete_backup": False}).status_code == 204
    assert mims.image(image_id) is None
    response = mims.delete(f"/v2/images/{image_id}")
    assert response.status_code == 404 and ims_error(response) == "IMG.0027"


def test_delete_while_creating_is_img0090(mims: Ims) -> None:
    image_id = mims.job(mims.create(OBS_BODY))["entities"]["image_id"]
    response = mims.delete(f"/v2/images/{image_id}")
    assert response.status_code == 400 and ims_error(response) == "IMG.0090"


def test_delete_body_is_checked(mims: Ims) -> None:
    image_id = make_image(mims)
    response = mims.delete(f"/v2/images/{image_id}", json={"delete_backup": "yes"})
    assert response.status_code == 400 and ims_error(response) == "IMG.0001"


def test_os_versions(ims: Ims) -> None:
    groups = ims.get("/v1/cloudimages/os_version").json()
    versions = {v["os_version"]: v for g in groups for v in g["version_list"]}
    for name in ("CentOS 7.0 64bit", "Ubuntu 22.04 server 64bit", "Windows Server 2019 Standard 64bit"):
        assert name in versions
    assert versions["Windows Server 2019 Standard 64bit"]["os_type"] == "Windows"
    assert isinstance(versions["CentOS 7.0 64bit"]["os_bit"], int)
    arm = {
        v["os_version"]
        for g in ims.get("/v1/cloudimages/os_version", params={"tag": "arm"}).json()
        for v in g["version_list"]
    }
    assert "Huawei Cloud EulerOS 2.0 64bit" in arm and "CentOS 7.0 64bit" not in arm
