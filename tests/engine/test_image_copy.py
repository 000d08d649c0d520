"""ImageCopy through the real dynamic provider host, against the two-region emulator, as the engine drives it.

What reached IMS is read from the emulator's request log (which also says which region's endpoint a request
went to); the end state is confirmed with Huawei's official SDK (huaweicloudsdkims), as a user would check it.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import grpc
import pytest
from huaweicloudsdkims.v2 import ListImagesRequest, ListImageTagsRequest

from ims_provider.client import ImsClient
from ims_provider.emulator.fixtures import SEED_ECS_ID
from ims_provider.emulator.server import EmulatorServer
from ims_provider.provider import ImageCopyProvider
from ims_provider.recovery import CLAIM_ATTRIBUTE, CLAIM_TAG
from tests.emulator.emu_support import sdk_client
from tests.engine.conftest import HOME_REGION, OTHER_REGION, TYPE_TOKENS, pipeline_config
from tests.engine.host import DynamicProviderHost
from tests.engine.support import (
    DIFF_NONE,
    DIFF_SOME,
    Deployed,
    body_of,
    images,
    up,
    update,
    writes,
)
from tests.reliability.support import attempt, killed_while_waiting, wait_until

AGENCY = "ims_admin_agency"  # the agency every emulator account has
ODD_NAME = "golden.v1.2_金色 镜像"  # dots, Chinese characters and an inner space: all legal in an IMS name
LONG_KEY = "cost-center.finance.emea-west.q4-26"  # 36 characters, with dots: the longest key IMS takes
COPY_PATH = re.compile(r"^/v1/cloudimages/[^/]+/(copy|cross_region_copy)$")


# --- fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def copies(pemu: EmulatorServer, owner_host: DynamicProviderHost) -> DynamicProviderHost:
    """The default account's host, sending ImageCopy's RPCs; the emulator is back in its start-up state."""
    return owner_host.serving(ImageCopyProvider(), TYPE_TOKENS["ImageCopy"])


@pytest.fixture
def north(pemu: EmulatorServer) -> Any:
    """Huawei's SDK, as the default account in the home region."""
    return sdk_client(pemu, region=HOME_REGION)


@pytest.fixture
def south(pemu: EmulatorServer) -> Any:
    """Huawei's SDK, as the default account in the other region."""
    return sdk_client(pemu, region=OTHER_REGION)


def golden(emu: EmulatorServer, name: str = "golden", **spec: Any) -> str:
    """A private image of the default account in the home region, active (the source of the copies)."""
    return str(emu.admin.add_image(name=name, min_ram=512, tags={"role": "golden"}, **spec)["id"])


def across(**extra: Any) -> dict[str, Any]:
    """The inputs that make a copy go to the other region."""
    return {"target_region": OTHER_REGION, "agency_name": AGENCY, **extra}


def sdk_image(sdk: Any, image_id: str) -> Any:
    """The image as the SDK lists it in the client's region, or None when it is not there."""
    found = sdk.list_images(ListImagesRequest(id=image_id)).images
    return found[0] if found else None


def sdk_tags(sdk: Any, image_id: str) -> dict[str, str]:
    return {t.key: t.value for t in sdk.list_image_tags(ListImageTagsRequest(image_id=image_id)).tags}


def copy_posts(emu: EmulatorServer) -> list[dict[str, Any]]:
    """Every copy request (within a region or across) that reached IMS."""
    return [e for e in emu.admin.requests(method="POST") if COPY_PATH.match(e["path"])]


def regions_called(emu: EmulatorServer) -> set[str]:
    return {e["region"] for e in emu.admin.requests()}


def patch_path(image_id: str) -> str:
    return f"/v2/cloudimages/{image_id}"


def tags_path(emu: EmulatorServer, image_id: str) -> str:
    return f"/v2/{emu.project_for(HOME_REGION)}/images/{image_id}/tags/action"


def claim_op(image_id: str) -> list[dict[str, str]]:
    return [{"op": "add", "path": f"/{CLAIM_ATTRIBUTE}", "value": image_id}]


def failure_of(call: Any, *args: Any) -> str:
    """The error text the engine shows for an RPC that must fail."""
    with pytest.raises(grpc.RpcError) as failed:
        call(*args)
    return str(failed.value.details())  # type: ignore[attr-defined]


def killed_mid_copy(emu: EmulatorServer, name: str, program: dict[str, Any]) -> str:
    """``pulumi up`` interrupted while IMS copies (:func:`killed_while_waiting`). The job clock stands still
    meanwhile, so the copy is surely still being made; it runs on once the host is dead. Returns the job ID
    (the engine got no answer: no state)."""
    emu.admin.set_clock("manual")
    serving = (ImageCopyProvider(), TYPE_TOKENS["ImageCopy"])
    killed_while_waiting(emu, pipeline_config(emu), name, program, serving)
    [job] = [j for j in emu.admin.state()["jobs"] if j["status"] in ("INIT", "RUNNING")]
    emu.admin.set_clock("real")  # IMS goes on copying
    return str(job["job_id"])


def job_of(emu: EmulatorServer, image_id: str) -> str:
    return str(images(emu)[image_id]["job_id"])


# --- within the region -----------------------------------------------------------------------------------


def test_copy_within_the_region(copies: DynamicProviderHost, pemu: EmulatorServer, north: Any) -> None:
    """One copy request with the name and description; the RAM bounds and tags are set on the copy once it
    is active, then the copy is claimed. The outputs say where it is and what it came from."""
    source = golden(pemu)
    program = {
        "source_image_id": source,
        "name": "golden-copy",
        "description": "copied",
        "min_ram": 1024,
        "max_ram": 4096,
        "image_tags": {"team": "web"},
    }
    pemu.admin.clear_requests()
    res = up(copies, "copy", program)

    path = patch_path(res.id)
    assert writes(pemu) == [
        ("POST", f"/v1/cloudimages/{source}/copy", {"name": "golden-copy", "description": "copied"}, 200),
        ("PATCH", path, [{"op": "add", "path": "/max_ram", "value": 4096}], 200),
        ("PATCH", path, [{"op": "replace", "path": "/min_ram", "value": 1024}], 200),
        (
            "POST",
            tags_path(pemu, res.id),
            {"action": "create", "tags": [{"key": "team", "value": "web"}]},
            204,
        ),
        ("PATCH", path, claim_op(res.id), 200),
    ]
    assert regions_called(pemu) == {HOME_REGION}
    state = res.state
    assert (state["image_id"], state["region"], state["status"]) == (res.id, HOME_REGION, "active")
    assert state["job_id"] == job_of(pemu, res.id)
    assert (state["name"], state["description"], state["source_image_id"]) == (
        "golden-copy",
        "copied",
        source,
    )
    assert (state["min_ram"], state["max_ram"], state["image_tags"]) == (1024.0, 4096.0, {"team": "web"})
    assert state["os_version"] == "CentOS 7.9 64bit" and state["min_disk"] == 40.0

    copy = sdk_image(north, res.id)
    assert (copy.name, copy.description, copy.status) == ("golden-copy", "copied", "active")
    assert (copy.originalimagename, copy.owner) == (source, pemu.project_for(HOME_REGION))
    assert (copy.min_ram, copy.max_ram) == (1024, "4096")
    assert sdk_tags(north, res.id) == {"team": "web"}  # the source's tags are not copied
    assert images(pemu)[res.id][CLAIM_ATTRIBUTE] == res.id
    original = sdk_image(north, source)
    assert (original.name, original.min_ram, sdk_tags(north, source)) == ("golden", 512, {"role": "golden"})


def test_refresh_finds_nothing_changed_then_shows_a_console_rename(
    copies: DynamicProviderHost, pemu: EmulatorServer, owner_console: ImsClient
) -> None:
    """The first refresh after create changes nothing; after a rename outside Pulumi the refreshed inputs
    carry the new name, so the next preview plans an update back (in place)."""
    program = {"source_image_id": golden(pemu), "name": "golden-copy", "image_tags": {"team": "web"}}
    res = up(copies, "copy", program)
    pemu.admin.clear_requests()
    id_, outs, ins = copies.refresh(res.name, res.id, res.state, res.inputs)
    assert (id_, outs) == (res.id, res.state)
    assert writes(pemu) == []
    diff, _ = copies.preview(res.name, res.id, outs, ins, program)
    assert diff.changes == DIFF_NONE

    owner_console.update_image(res.id, [{"op": "replace", "path": "/name", "value": "renamed-by-hand"}])
    _, outs, ins = copies.refresh(res.name, res.id, res.state, res.inputs)
    assert outs["name"] == ins["name"] == "renamed-by-hand"
    assert ins["source_image_id"] == program["source_image_id"]
    diff, _ = copies.preview(res.name, res.id, outs, ins, program)
    assert diff.changes == DIFF_SOME and list(diff.replaces) == []


def test_update_in_place_changes_the_copy_only(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any
) -> None:
    """Name, description, RAM bounds and tags change with PATCH and the tag API on the copy; the source is
    never written to."""
    source = golden(pemu)
    program = {
        "source_image_id": source,
        "name": "golden-copy",
        "description": "v1",
        "min_ram": 1024,
        "image_tags": {"a": "1", "b": "2"},
    }
    res = up(copies, "copy", program)
    pemu.admin.clear_requests()
    changed = {
        "source_image_id": source,
        "name": "golden-copy-2",
        "description": "v2",
        "min_ram": 2048,
        "max_ram": 8192,
        "image_tags": {"a": "1", "c": "3"},
    }
    after = update(copies, res, changed)

    path, tags = patch_path(res.id), tags_path(pemu, res.id)
    assert writes(pemu) == [
        ("PATCH", path, [{"op": "replace", "path": "/name", "value": "golden-copy-2"}], 200),
        ("PATCH", path, [{"op": "replace", "path": "/__description", "value": "v2"}], 200),
        # min_ram rises, so max_ram goes first; the copy has none (nor has its source): IMG.0035, then "add"
        ("PATCH", path, [{"op": "replace", "path": "/max_ram", "value": 8192}], 400),
        ("PATCH", path, [{"op": "add", "path": "/max_ram", "value": 8192}], 200),
        ("PATCH", path, [{"op": "replace", "path": "/min_ram", "value": 2048}], 200),
        ("POST", tags, {"action": "delete", "tags": [{"key": "b", "value": "2"}]}, 204),
        ("POST", tags, {"action": "create", "tags": [{"key": "c", "value": "3"}]}, 204),
    ]
    assert (after.state["name"], after.state["min_ram"], after.state["max_ram"]) == (
        "golden-copy-2",
        2048,
        8192,
    )
    assert after.state["job_id"] == res.state["job_id"] and after.state["region"] == HOME_REGION
    copy = sdk_image(north, res.id)
    assert (copy.name, copy.description, copy.min_ram, copy.max_ram) == ("golden-copy-2", "v2", 2048, "8192")
    assert sdk_tags(north, res.id) == {"a": "1", "c": "3"}
    original = sdk_image(north, source)
    assert (original.name, original.min_ram, sdk_tags(north, source)) == ("golden", 512, {"role": "golden"})
    diff, _ = copies.preview(res.name, res.id, after.state, after.inputs, changed)
    assert diff.changes == DIFF_NONE


def test_what_makes_another_copy_is_a_replacement(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any
) -> None:
    """Another key, another source or another region needs a new copy; writing out the provider's own region
    is the same copy. The replacement is made first, then the old copy deleted; preview asks IMS nothing."""
    source, other = golden(pemu), golden(pemu, "golden-2")
    program = {"source_image_id": source, "name": "golden-copy"}
    old = up(copies, "copy", program)
    pemu.admin.clear_requests()
    cases: dict[str, tuple[dict[str, Any], list[str]]] = {
        "cmk_id": ({**program, "cmk_id": "kms-key-1"}, ["cmk_id"]),
        "source_image_id": ({**program, "source_image_id": other}, ["source_image_id"]),
        "target_region": ({**program, **across()}, ["target_region", "agency_name"]),
        "name": ({**program, "name": "renamed"}, []),
    }
    for label, (changed, replaces) in cases.items():
        diff, _ = copies.preview(old.name, old.id, old.state, old.inputs, changed)
        assert (diff.changes, list(diff.replaces)) == (DIFF_SOME, replaces), label
        assert diff.deleteBeforeReplace is False, label
    home = {**program, "target_region": HOME_REGION}
    diff, _ = copies.preview(old.name, old.id, old.state, old.inputs, home)
    assert diff.changes == DIFF_NONE
    assert pemu.admin.requests() == []

    _, news = copies.preview(old.name, old.id, old.state, old.inputs, cases["source_image_id"][0])
    new_id, new_state = copies.create(old.name, news)
    copies.delete(old.name, old.id, old.state)
    assert sdk_image(north, old.id) is None
    assert sdk_image(north, new_id).originalimagename == other == new_state["source_image_id"]
    assert sdk_image(north, source).status == "active"


def test_delete_removes_the_copy_and_leaves_the_source(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any
) -> None:
    source = golden(pemu)
    res = up(copies, "copy", {"source_image_id": source, "name": "golden-copy"})
    pemu.admin.clear_requests()
    copies.delete(res.name, res.id, res.state)
    assert writes(pemu) == [("DELETE", f"/v2/images/{res.id}", None, 204)]
    assert sdk_image(north, res.id) is None
    assert sdk_image(north, source).status == "active"


def test_a_copy_deleted_outside_pulumi(
    copies: DynamicProviderHost, pemu: EmulatorServer, owner_console: ImsClient
) -> None:
    """Refresh answers an empty ID (the engine drops the copy from state); destroy without refresh passes."""
    res = up(copies, "copy", {"source_image_id": golden(pemu), "name": "golden-copy"})
    assert owner_console.delete_image(res.id)
    response = copies.read(res.name, res.id, res.state, res.inputs)
    assert response.id == ""
    copies.delete(res.name, res.id, res.state)


def test_a_copy_of_a_data_image_changes_its_tags_only_in_place(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any
) -> None:
    """IMS refuses to PATCH a data image (IMG.0168): the copy is claimed with a tag, its tags change in place,
    and a new name or RAM bound plans a new copy rather than an update that must fail."""
    source = golden(pemu, "data", virtual_env_type="DataImage")
    program = {"source_image_id": source, "name": "data-copy", "image_tags": {"team": "db"}}
    pemu.admin.clear_requests()
    res = up(copies, "data-copy", program)
    assert res.state["image_type"] == "DataImage"
    assert [m for m, _, _, _ in writes(pemu)] == ["POST", "POST", "POST"]  # copy, tags, claim tag: no PATCH
    assert sdk_tags(north, res.id) == {"team": "db", CLAIM_TAG: res.id}

    for changed, replaces in (({"name": "renamed"}, ["name"]), ({"min_ram": 1024}, ["min_ram"])):
        diff, _ = copies.preview(res.name, res.id, res.state, res.inputs, {**program, **changed})
        assert (diff.changes, list(diff.replaces)) == (DIFF_SOME, replaces)
    pemu.admin.clear_requests()
    after = update(copies, res, {**program, "image_tags": {"team": "ops"}})
    assert writes(pemu) == [
        (
            "POST",
            tags_path(pemu, res.id),
            {"action": "create", "tags": [{"key": "team", "value": "ops"}]},
            204,
        )
    ]
    assert after.state["image_tags"] == {"team": "ops"}
    assert sdk_tags(north, res.id) == {"team": "ops", CLAIM_TAG: res.id}


# --- to another region -----------------------------------------------------------------------------------


def test_copy_to_another_region_lives_there(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any, south: Any
) -> None:
    """The copy request and its job are the home region's; the copy, its tags and its claim are the target
    region's, in the account's project there."""
    source = golden(pemu)
    program = {
        "source_image_id": source,
        "name": "far",
        "min_ram": 2048,
        "image_tags": {"team": "web"},
        **across(),
    }
    pemu.admin.clear_requests()
    res = up(copies, "far", program)

    [post] = copy_posts(pemu)
    assert (post["region"], post["path"]) == (HOME_REGION, f"/v1/cloudimages/{source}/cross_region_copy")
    assert body_of(post) == {
        "name": "far",
        "region": OTHER_REGION,
        "project_name": OTHER_REGION,
        "agency_name": AGENCY,
    }
    polls = [e for e in pemu.admin.requests(method="GET") if e["path"].startswith("/v1/cloudimages/job/")]
    assert polls and {e["region"] for e in polls} == {HOME_REGION}
    on_copy = [e for e in pemu.admin.requests() if res.id in e["path"]]
    assert on_copy and {e["region"] for e in on_copy} == {OTHER_REGION}
    assert [(e["method"], body_of(e)) for e in on_copy if e["method"] != "GET"] == [
        ("PATCH", [{"op": "replace", "path": "/min_ram", "value": 2048}]),
        ("POST", {"action": "create", "tags": [{"key": "team", "value": "web"}]}),
        ("PATCH", claim_op(res.id)),
    ]
    state = res.state
    assert (state["region"], state["status"], state["source_image_id"]) == (OTHER_REGION, "active", source)
    assert state["job_id"] == job_of(pemu, res.id)

    copy = sdk_image(south, res.id)
    assert (copy.owner, copy.originalimagename) == (pemu.project_for(OTHER_REGION), source)
    assert (copy.name, copy.status, copy.min_ram) == ("far", "active", 2048)
    assert sdk_tags(south, res.id) == {"team": "web"}
    assert sdk_image(north, res.id) is None
    assert sdk_image(north, source).min_ram == 512


def test_a_copy_in_another_region_is_refreshed_changed_and_deleted_there(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any, south: Any
) -> None:
    """Refresh, update and delete call the target region's endpoint only; delete returns once the copy is
    gone there."""
    source = golden(pemu)
    program = {"source_image_id": source, "name": "far", "image_tags": {"team": "web"}, **across()}
    res = up(copies, "far", program)

    pemu.admin.clear_requests()
    _, outs, ins = copies.refresh(res.name, res.id, res.state, res.inputs)
    assert outs == res.state
    assert regions_called(pemu) == {OTHER_REGION}

    pemu.admin.clear_requests()
    after = update(
        copies, Deployed(res.name, res.id, outs, ins), {**program, "name": "far-2", "max_ram": 4096}
    )
    assert regions_called(pemu) == {OTHER_REGION}
    path = patch_path(res.id)
    assert writes(pemu) == [
        ("PATCH", path, [{"op": "replace", "path": "/name", "value": "far-2"}], 200),
        ("PATCH", path, [{"op": "replace", "path": "/max_ram", "value": 4096}], 400),  # IMG.0035: none yet
        ("PATCH", path, [{"op": "add", "path": "/max_ram", "value": 4096}], 200),
    ]
    assert (sdk_image(south, res.id).name, sdk_image(south, res.id).max_ram) == ("far-2", "4096")

    pemu.admin.clear_requests()
    copies.delete(res.name, res.id, after.state)
    assert regions_called(pemu) == {OTHER_REGION}
    log = pemu.admin.requests()
    [deleted] = [n for n, e in enumerate(log) if e["method"] == "DELETE"]
    assert log[deleted]["path"] == f"/v2/images/{res.id}"
    assert any(e["method"] == "GET" for e in log[deleted + 1 :])  # it looked until the copy was gone
    assert sdk_image(south, res.id) is None
    assert sdk_image(north, source).status == "active"


# --- interrupted runs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["within the region", "to another region"])
def test_a_copy_interrupted_by_a_killed_host_is_adopted_by_the_next_run(
    pemu: EmulatorServer, where: str, north: Any, south: Any
) -> None:
    """The Python host keeps no partial state: the re-run with the same inputs finds the copy IMS went on
    making, adopts it (one copy request in all), sets the RAM bounds and tags on it and claims it."""
    sdk, region = (north, HOME_REGION) if where == "within the region" else (south, OTHER_REGION)
    source = golden(pemu)
    program = {
        "source_image_id": source,
        "name": "golden-copy",
        "min_ram": 2048,
        "image_tags": {"team": "web"},
    }
    if region != HOME_REGION:
        program.update(across())
    job_id = killed_mid_copy(pemu, "copy", program)
    [leftover] = [i for i in pemu.admin.state(region)["images"] if i["job_id"] == job_id]

    with DynamicProviderHost(pipeline_config(pemu)) as second:
        view = second.serving(ImageCopyProvider(), TYPE_TOKENS["ImageCopy"])
        rid, state = view.create("copy", view.checked("copy", program))
        assert view.line_with(rid, "adopting it instead of creating another")

    assert rid == leftover["id"] and len(copy_posts(pemu)) == 1
    assert images(pemu)[rid][CLAIM_ATTRIBUTE] == rid
    assert (state["status"], state["region"], state["min_ram"]) == ("active", region, 2048)
    assert "job_id" not in state  # adopted: no job of this run made it
    copy = sdk_image(sdk, rid)
    assert (copy.status, copy.min_ram, copy.originalimagename) == ("active", 2048, source)
    assert sdk_tags(sdk, rid) == {"team": "web"}


@pytest.mark.parametrize("where", ["within the region", "to another region"])
def test_an_interrupted_copy_of_a_claimed_image_is_adopted_once(
    pemu: EmulatorServer, owner_host: DynamicProviderHost, where: str
) -> None:
    """Should IMS copy the source's custom attributes and tags (it does not say; the emulator's
    ``copy_marks`` setting), a copy of a PrivateImage carries that image's claim, not its own: the re-run
    still takes it for its interrupted attempt and adopts it, exactly once, and claims it for itself."""
    pemu.admin.update_settings(copy_marks="source's")
    source = up(owner_host, "golden", {"name": "golden", "instance_id": SEED_ECS_ID}).id
    assert images(pemu)[source][CLAIM_ATTRIBUTE] == source  # made and claimed by the provider
    pemu.admin.clear_requests()
    region = HOME_REGION if where == "within the region" else OTHER_REGION
    program = {"source_image_id": source, "name": "golden-copy", "min_ram": 2048}
    if region != HOME_REGION:
        program.update(across())
    job_id = killed_mid_copy(pemu, "copy", program)
    [leftover] = [i for i in pemu.admin.state(region)["images"] if i["job_id"] == job_id]
    assert leftover[CLAIM_ATTRIBUTE] == source  # the source's claim, inherited

    with DynamicProviderHost(pipeline_config(pemu)) as second:
        view = second.serving(ImageCopyProvider(), TYPE_TOKENS["ImageCopy"])
        rid, state = view.create("copy", view.checked("copy", program))
        assert view.line_with(rid, "adopting it instead of creating another")

    assert rid == leftover["id"] and len(copy_posts(pemu)) == 1
    copies_made = [i["id"] for i in pemu.admin.state(region)["images"] if i["__originalimagename"] == source]
    assert copies_made == [rid]
    in_region = {i["id"]: i for i in pemu.admin.state(region)["images"]}
    assert in_region[rid][CLAIM_ATTRIBUTE] == rid and images(pemu)[source][CLAIM_ATTRIBUTE] == source
    assert (state["status"], state["region"], state["min_ram"]) == ("active", region, 2048)


def test_a_rerun_with_changed_inputs_leaves_the_interrupted_copy_alone(
    pemu: EmulatorServer, north: Any
) -> None:
    """A copy that differs from the request in what IMS shows (here the description) is not this request's:
    a new copy is made, and a warning names the leftover and how it differs."""
    source = golden(pemu)
    program = {"source_image_id": source, "name": "golden-copy", "description": "v1"}
    job_id = killed_mid_copy(pemu, "copy", program)
    [leftover] = [i["id"] for i in pemu.admin.state()["images"] if i["job_id"] == job_id]

    with DynamicProviderHost(pipeline_config(pemu)) as second:
        view = second.serving(ImageCopyProvider(), TYPE_TOKENS["ImageCopy"])
        rid, state = view.create("copy", view.checked("copy", {**program, "description": "v2"}))
        warning = view.line_with("warning", leftover)

    assert "differs in description (IMS has 'v1', the program asks for 'v2')" in warning
    assert rid != leftover and len(copy_posts(pemu)) == 2
    assert state["description"] == "v2" and images(pemu)[rid][CLAIM_ATTRIBUTE] == rid
    assert sdk_image(north, leftover).description == "v1"  # left alone for the user to delete
    assert CLAIM_ATTRIBUTE not in images(pemu)[leftover]


@pytest.mark.parametrize("names", [("copy-a", "copy-b"), ("same", "same")], ids=["different", "same"])
def test_two_copies_of_one_source_made_at_once_each_get_their_own(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any, names: tuple[str, str]
) -> None:
    """Two resources copying one source at the same time never take each other's copy (the first is claimed
    before a second of the same name looks for an earlier attempt)."""
    source = golden(pemu)
    results: dict[str, Any] = {}

    def make(resource: str, name: str) -> None:
        inputs = copies.checked(resource, {"source_image_id": source, "name": name})
        results[resource] = attempt(copies.create, resource, inputs)

    threads = [threading.Thread(target=make, args=(f"r{n}", name)) for n, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(result, tuple) for result in results.values()), results
    (id_a, state_a), (id_b, state_b) = results["r0"], results["r1"]
    assert id_a != id_b and len(copy_posts(pemu)) == 2
    assert (state_a["name"], state_b["name"]) == names
    for rid, name in ((id_a, names[0]), (id_b, names[1])):
        assert images(pemu)[rid][CLAIM_ATTRIBUTE] == rid
        assert (sdk_image(north, rid).name, sdk_image(north, rid).originalimagename) == (name, source)


def test_odd_but_legal_names_and_tag_keys(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any, owner_console: ImsClient
) -> None:
    """A name with dots, Chinese characters and a space, a tag key with dots and one of 36 characters reach
    IMS intact, read back as written (no drift), and the name finds an earlier attempt's copy."""
    source = golden(pemu)
    tags = {"app.tier": "web", LONG_KEY: "x" * 43}
    program = {"source_image_id": source, "name": ODD_NAME, "description": "金色", "image_tags": tags}
    # What an interrupted attempt leaves: an unclaimed copy with the request's name and description.
    job_id = owner_console.copy_image(source, {"name": ODD_NAME, "description": "金色"})
    wait_until(lambda: owner_console.get_job(job_id)["status"] == "SUCCESS", 30, "the copy is made")
    [earlier] = [i["id"] for i in pemu.admin.state()["images"] if i["job_id"] == job_id]
    pemu.admin.clear_requests()

    res = up(copies, "odd", program)
    assert res.id == earlier and copy_posts(pemu) == []
    assert [body_of(e) for e in pemu.admin.requests(path=tags_path(pemu, res.id))] == [
        {"action": "create", "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())]}
    ]
    copy = sdk_image(north, res.id)
    assert (copy.name, copy.description) == (ODD_NAME, "金色")
    assert sdk_tags(north, res.id) == tags
    assert (res.state["name"], res.state["image_tags"]) == (ODD_NAME, tags)
    _, outs, ins = copies.refresh(res.name, res.id, res.state, res.inputs)
    assert outs == res.state
    diff, _ = copies.preview(res.name, res.id, outs, ins, program)
    assert diff.changes == DIFF_NONE


# --- errors that do not go away --------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["within the region", "to another region"])
def test_a_failed_copy_job_leaves_nothing_behind(
    copies: DynamicProviderHost, pemu: EmulatorServer, where: str
) -> None:
    """The error names the job, IMS's code and reason; no copy is left in either region and the copy is not
    requested again."""
    source = golden(pemu)
    program = {"source_image_id": source, "name": "doomed"}
    if where == "to another region":
        program.update(across())
    pemu.admin.fail_next_job("IMG.0061", "The copy task failed.")
    inputs = copies.checked("doomed", program)
    message = failure_of(copies.create, "doomed", inputs)

    [job] = pemu.admin.state()["jobs"]
    assert f"IMS job {job['job_id']} failed: IMG.0061: The copy task failed." in message
    assert len(copy_posts(pemu)) == 1
    # Nothing left in the source region (but the source) nor in the target region (the copy IMS made there).
    assert [i["id"] for i in pemu.admin.state(HOME_REGION)["images"]] == [source]
    assert pemu.admin.state(OTHER_REGION)["images"] == []


def test_a_min_ram_above_the_inherited_max_ram_names_the_copy_for_the_rerun(
    copies: DynamicProviderHost, pemu: EmulatorServer, north: Any
) -> None:
    """The copy takes its source's RAM bounds, so IMS may refuse the program's (IMG.0055) once the copy is
    made: the error names that copy, and the re-run with the bounds fixed adopts it (one copy request)."""
    source = golden(pemu, max_ram=2048)
    program = {"source_image_id": source, "name": "big", "min_ram": 4096}
    message = failure_of(copies.create, "big", copies.checked("big", program))
    [made] = [i["id"] for i in pemu.admin.state()["images"] if i["id"] != source]
    assert "HTTP 400 IMG.0055" in message and f"the copy {made} was made in {HOME_REGION}" in message
    assert "run `pulumi up` again once the cause is fixed (the copy is adopted" in message

    res = up(copies, "big", {**program, "max_ram": 8192})
    assert res.id == made and len(copy_posts(pemu)) == 1
    assert images(pemu)[made][CLAIM_ATTRIBUTE] == made
    copy = sdk_image(north, made)
    assert (copy.min_ram, copy.max_ram) == (4096, "8192")


def _refusal_cases(emu: EmulatorServer) -> dict[str, tuple[dict[str, Any], str]]:
    """Sources and inputs IMS refuses although Check cannot know it, with IMS's code."""
    iso = golden(emu, "iso", virtual_env_type="IsoImage")
    whole = golden(emu, "whole", whole_image="CBR")
    encrypted = golden(emu, "encrypted", cmk_id="kms-key-1")
    plain = golden(emu)
    backup = emu.admin.add_vault(kind="backup", region=OTHER_REGION)["id"]
    return {
        "ISO source": ({"source_image_id": iso}, "IMG.0167"),
        "full-ECS source within the region": ({"source_image_id": whole}, "IMG.0130"),
        "unknown source": ({"source_image_id": str(uuid.uuid4())}, "IMG.0027"),
        "unknown agency": ({"source_image_id": plain, **across(agency_name="no_such_agency")}, "IMG.0179"),
        "encrypted source across": ({"source_image_id": encrypted, **across()}, "IMG.0105"),
        "ISO source across": ({"source_image_id": iso, **across()}, "IMG.0167"),
        "full-ECS source across without a vault": ({"source_image_id": whole, **across()}, "IMG.0001"),
        "unknown vault": ({"source_image_id": whole, **across(vault_id="no-such-vault")}, "IMG.0184"),
        "backup vault": ({"source_image_id": whole, **across(vault_id=backup)}, "IMG.0189"),
    }


def test_ims_refusals_surface_with_their_code(copies: DynamicProviderHost, pemu: EmulatorServer) -> None:
    """Each refusal reaches the user with IMS's code; the copy is requested once and nothing is made."""
    cases = _refusal_cases(pemu)
    before = set(images(pemu))
    for label, (program, code) in cases.items():
        pemu.admin.clear_requests()
        inputs = copies.checked("refused", {**program, "name": "refused"})
        message = failure_of(copies.create, "refused", inputs)
        assert f"HTTP {404 if code == 'IMG.0027' else 400} {code}" in message, (label, message)
        assert len(copy_posts(pemu)) == 1, label
        assert [e["method"] for e in pemu.admin.requests() if e["method"] != "GET"] == ["POST"], label
    assert set(images(pemu)) == before


@pytest.mark.parametrize(
    ("program", "prop", "says"),
    [
        ({"name": "bad/name"}, "name", ["'bad/name'", "letters, digits, Chinese characters"]),
        ({"name": None}, "name", ["name is required"]),
        ({"source_image_id": None}, "source_image_id", ["source_image_id is required"]),
        ({"min_ram": 4096, "max_ram": 1024}, "min_ram", ["4096 MB", "must not exceed max_ram (1024 MB)"]),
        ({"image_tags": {"k" * 37: "v"}}, "image_tags[0].key", ["'" + "k" * 37 + "'", "1 to 36 characters"]),
        ({"tags": ["app.tier.web"]}, "tags[0]", ["'app.tier.web'", "use image_tags"]),
        ({"vault_id": "vault-1"}, "vault_id", ["not used for a copy within", "to another region"]),
        (across(cmk_id="kms-key-1"), "cmk_id", ["not used for a copy to another region", "within the"]),
        ({"target_region": OTHER_REGION}, "agency_name", ["agency_name is required for a copy to another"]),
        ({"target_region": "Mars 1", "agency_name": AGENCY}, "target_region", ["'Mars 1'", "'cn-north-4'"]),
        ({"timeouts": {"create": "soon"}}, "timeouts.create", ["'soon'", "'45m'"]),
        ({"instance_id": "x"}, "instance_id", ["not an input of ImageCopy", "source_image_id, name"]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_inputs_fail_check_before_any_api_call(
    copies: DynamicProviderHost, pemu: EmulatorServer, program: dict[str, Any], prop: str, says: list[str]
) -> None:
    """Check names the property, what was given and what is allowed; IMS is not asked anything."""
    inputs = {"source_image_id": golden(pemu), "name": "golden-copy", **program}
    pemu.admin.clear_requests()
    response = copies.check("bad", {k: v for k, v in inputs.items() if v is not None})
    failures = {f.property: f.reason for f in response.failures}
    assert prop in failures, failures
    assert all(part in failures[prop] for part in says), failures[prop]
    assert pemu.admin.requests() == []


def test_a_copy_made_outside_pulumi_of_a_claimed_image_can_be_adopted(
    pemu: EmulatorServer, owner_host: DynamicProviderHost, owner_console: ImsClient
) -> None:
    """Should IMS copy custom attributes (the ``copy_marks`` setting), a console copy of a PrivateImage
    carries that image's claim; ``existing_image_id`` still adopts it as untracked (it is no data image of
    anyone), claims it with its own ID, and leaves the source's claim alone."""
    pemu.admin.update_settings(copy_marks="source's")
    source = up(owner_host, "golden", {"name": "golden", "instance_id": SEED_ECS_ID}).id
    job_id = owner_console.copy_image(source, {"name": "console-copy"})
    wait_until(lambda: owner_console.get_job(job_id)["status"] == "SUCCESS", 30, "the copy is made")
    [copy] = [i["id"] for i in pemu.admin.state()["images"] if i["job_id"] == job_id]
    assert images(pemu)[copy][CLAIM_ATTRIBUTE] == source  # inherited

    adopted = up(owner_host, "adopted", {"existing_image_id": copy})

    assert adopted.id == copy
    assert images(pemu)[copy][CLAIM_ATTRIBUTE] == copy and images(pemu)[source][CLAIM_ATTRIBUTE] == source
    assert not any("marked as made by" in line for line in owner_host.lines)
