"""The admin API: resources, clock, settings, request log, state, reset and the loopback rule."""

from __future__ import annotations

import pytest
from emu_support import Ims, ims_error
from werkzeug.test import Client

from ims_provider.emulator import AdminError, Backend, EmulatorServer


def test_added_resources_are_usable(mims: Ims) -> None:
    server = mims.admin.add_server(
        name="web", status="SHUTOFF", system_volume={"size": 60, "os_version": "Ubuntu 22.04 server 64bit"}
    )
    volume = mims.admin.add_volume(size=30, server_id=server["id"])
    mims.admin.add_object(bucket="b", key="k.raw", size_gb=50, storage_class="STANDARD")
    body = {
        "name": "web",
        "instance_id": server["id"],
        "data_images": [{"name": "d", "volume_id": volume["id"]}],
    }
    job = mims.wait(mims.create(body))
    image = mims.image(job["entities"]["image_id"])
    assert (
        image is not None and image["min_disk"] == 60 and image["__os_version"] == "Ubuntu 22.04 server 64bit"
    )
    quick = {
        "name": "q",
        "image_url": "b:k.raw",
        "min_disk": 50,
        "is_quick_import": True,
        "os_version": "CentOS 7.9 64bit",
    }
    assert mims.wait(mims.create(quick))["status"] == "SUCCESS"


def test_server_status_change_provokes_img0008(mims: Ims) -> None:
    server = mims.admin.add_server(status="SHUTOFF")
    mims.admin.set_server_status(server["id"], "ACTIVE")
    response = mims.post("/v2/cloudimages/action", json={"name": "x", "instance_id": server["id"]})
    assert response.status_code == 400 and ims_error(response) == "IMG.0008"


@pytest.mark.parametrize(
    ("call", "spec"),
    [
        ("add_server", {"status": "FLYING"}),
        ("add_server", {"system_volume": {"size": 0}}),
        ("add_volume", {"size": 10, "server_id": "nope"}),
        ("add_volume", {"size": 10, "os_version": "BeOS"}),
        ("add_object", {"bucket": "b"}),
        ("add_object", {"bucket": "b", "key": "k", "storage_class": "GLACIER"}),
    ],
)
def test_bad_resource_specs_are_400(
    manual_emulator: EmulatorServer, call: str, spec: dict[str, object]
) -> None:
    with pytest.raises(AdminError) as info:
        getattr(manual_emulator.admin, call)(**spec)
    assert info.value.status == 400


def test_duplicate_server_is_rejected(manual_emulator: EmulatorServer) -> None:
    with pytest.raises(AdminError):
        manual_emulator.admin.add_server(id="877a2cda-ba63-4e1e-b95f-e67e48b6129a")


def test_clock_control(emulator: EmulatorServer) -> None:
    admin = emulator.admin
    assert admin.clock()["mode"] == "real"
    frozen = admin.set_clock("manual")["now"]
    assert admin.clock()["now"] == frozen
    assert admin.advance(10)["now"] == pytest.approx(frozen + 10)
    assert admin.set_clock("real", scale=100)["scale"] == 100
    with pytest.raises(AdminError):
        admin.advance(-1)
    with pytest.raises(AdminError):
        admin.set_clock("sideways")


def test_settings(manual_emulator: EmulatorServer) -> None:
    admin = manual_emulator.admin
    assert admin.update_settings(job_seconds=1, progress_profile="stepped")["job_seconds"] == 1
    for bad in ({"job_seconds": -1}, {"progress_profile": "random"}, {"image_quota": "many"}, {"colour": 1}):
        with pytest.raises(AdminError):
            admin.update_settings(**bad)


def test_request_log_and_reset(mims: Ims) -> None:
    mims.create({"name": "x", "image_url": "ims-image:centos70.qcow2", "min_disk": 40})
    mims.get("/v2/cloudimages", params={"name": "x"})
    entries = mims.admin.requests()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v2/cloudimages/action", 200),
        ("GET", "/v2/cloudimages", 200),
    ]
    assert entries[0]["body"]["name"] == "x" and entries[1]["query"] == {"name": "x"}
    assert entries[0]["headers"]["Authorization"].startswith("SDK-HMAC-SHA256 ")
    mims.admin.add_server(id="extra")
    mims.admin.update_settings(job_seconds=1)
    mims.admin.set_clock("real")
    mims.admin.reset()
    state = mims.admin.state()
    assert state["images"] == [] and state["jobs"] == [] and mims.admin.requests() == []
    assert all(s["id"] != "extra" for s in state["servers"]) and len(state["servers"]) == 3
    assert state["settings"]["job_seconds"] == 60 and state["clock"]["mode"] == "manual"


def test_admin_is_loopback_only(manual_emulator: EmulatorServer) -> None:
    client = Client(manual_emulator.app)
    remote = client.get("/_emulator/state", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    local = client.get("/_emulator/state", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"})
    assert local.status_code == 200


def test_unknown_admin_endpoint(manual_emulator: EmulatorServer) -> None:
    with pytest.raises(AdminError) as info:
        manual_emulator.admin._call("GET", "/nothing")
    assert info.value.status == 404


@pytest.mark.parametrize(
    "document",
    [
        {"servers": {"id": "x"}},
        {"objects": "ims-image:x"},
        {"quotas": {"cpus": 1}},
        {"settings": {"job_seconds": float("inf")}},
        {"settings": []},
        {"colour": "blue"},
    ],
)
def test_bad_fixture_documents_are_value_errors(document: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Backend(fixtures=[document])


def test_an_emulator_bug_answers_like_ims(ims: Ims, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(query: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ims.server.backend, "list_images", broken)
    response = ims.get("/v2/cloudimages")
    assert response.status_code == 500 and ims_error(response) == "IMG.0061"


@pytest.mark.parametrize(
    ("call", "spec"),
    [
        ("add_image", {}),
        ("add_image", {"name": "x", "colour": "blue"}),
        ("add_image", {"name": "x", "whole_image": "yes"}),
        ("add_image", {"name": "x", "virtual_env_type": "Docker"}),
        ("add_image", {"name": "x", "os_version": "BeOS"}),
        ("add_image", {"name": "x", "architecture": "mips"}),
        ("add_image", {"name": "x", "public": True, "imagetype": "private"}),
        ("add_image", {"name": "x", "image_size": -1}),
        ("add_image", {"name": "x", "account": "nobody"}),
        ("add_vault", {"kind": "archive"}),
        ("add_vault", {"region": "eu-west-0"}),
        ("add_account", {"name": "x", "access_key": "K"}),
        ("add_account", {"name": "has space", "access_key": "K", "secret_key": "S"}),
        ("add_account", {"name": "x", "access_key": "K", "secret_key": "S", "domain_id": "short"}),
        (
            "add_account",
            {"name": "x", "access_key": "K", "secret_key": "S", "projects": {"eu-west-0": "0" * 32}},
        ),
        ("add_account", {"name": "member", "access_key": "K", "secret_key": "S"}),
        ("add_account", {"name": "x", "access_key": "EMULATORMEMBERKEY", "secret_key": "S"}),
        (
            "add_account",
            {
                "name": "x",
                "access_key": "K",
                "secret_key": "S",
                "projects": {"cn-north-4": "0605767c6a80d5c72f1dc0193fbee5a2"},
            },
        ),
    ],
)
def test_bad_pipeline_specs_are_400(
    manual_emulator: EmulatorServer, call: str, spec: dict[str, object]
) -> None:
    with pytest.raises(AdminError) as info:
        getattr(manual_emulator.admin, call)(**spec)
    assert info.value.status == 400


def test_an_agency_of_an_unknown_account_is_404(manual_emulator: EmulatorServer) -> None:
    with pytest.raises(AdminError) as info:
        manual_emulator.admin.add_agency("nobody", "agency")
    assert info.value.status == 404
    agencies = manual_emulator.admin.add_agency("member", "pipeline")["agencies"]
    assert agencies == ["ims_admin_agency", "pipeline"]


def test_a_planted_image_is_listed_as_planted(manual_emulator: EmulatorServer, mims: Ims) -> None:
    gold = manual_emulator.admin.add_image(
        name="Ubuntu 22.04", public=True, os_version="Ubuntu 22.04 server 64bit"
    )
    assert (gold["visibility"], gold["__imagetype"], gold["protected"], gold["status"]) == (
        "public",
        "gold",
        True,
        "active",
    )
    whole = manual_emulator.admin.add_image(
        name="whole", whole_image="CBR", tags={"k": "v"}, architecture="arm"
    )
    assert whole["__whole_image"] == "true" and whole["owner"] == mims.project_id and whole["tags"] == ["k.v"]
    assert whole["__support_arm"] == "true"
    assert [i["id"] for i in mims.listed(__whole_image="true")] == [whole["id"]]
    member = manual_emulator.admin.add_image(name="theirs", account="member")
    assert member["owner"] == manual_emulator.project_for("cn-north-4", "member")
    assert mims.listed(id=member["id"]) == []


def test_fixtures_place_accounts_resources_and_images(tmp_path: object) -> None:
    document = {
        "accounts": [
            {"name": "ci", "access_key": "CIKEY", "secret_key": "CISECRET", "agencies": ["ci_agency"]}
        ],
        "servers": [{"id": "south-ecs", "region": "cn-south-1", "account": "ci"}],
        "vaults": [{"id": "vault-1", "region": "cn-south-1"}],
        "images": [{"name": "Debian public", "public": True, "region": "cn-south-1"}],
        "quotas": {"members": 3},
    }
    with EmulatorServer(regions=("cn-north-4", "cn-south-1"), fixtures=document) as emu:
        ci = Ims(emu, account="ci", region="cn-south-1")
        assert ci.wait(ci.create({"name": "x", "instance_id": "south-ecs"}))["status"] == "SUCCESS"
        assert [i["name"] for i in ci.listed(__imagetype="gold")] == ["Debian public"]
        assert emu.account("ci").agencies == ("ci_agency",)
        assert emu.admin.settings()["member_quota"] == 3
        assert [v["id"] for v in emu.admin.state(region="cn-south-1")["vaults"]] == ["vault-1"]
        emu.admin.reset()
        assert [a["name"] for a in emu.admin.accounts()] == ["default", "member", "ci"]
        assert len(emu.admin.state(region="cn-south-1")["images"]) == 1
