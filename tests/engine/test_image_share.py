"""ImageShare and ImageShareAccepter through the real dynamic provider host, as the engine drives them,
against the two-region, two-account emulator: the default account owns and shares, the member account accepts.

What reached IMS is read from the emulator's request log; the end state is confirmed with Huawei's own SDK
(the owner lists its image's members, the member lists the images shared with it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import grpc
import pytest
from huaweicloudsdkims.v2 import ListImageMembersRequest, ListImagesRequest, ShowImageMemberRequest
from pulumi.dynamic import ResourceProvider

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.server import EmulatorServer
from ims_provider.model.image_share import MAX_MEMBERS
from ims_provider.provider import ImageShareAccepterProvider, ImageShareProvider
from tests.emulator.emu_support import sdk_client
from tests.engine.conftest import HOME_REGION, OTHER_REGION, TYPE_TOKENS, pipeline_config
from tests.engine.host import DynamicProviderHost
from tests.engine.support import (
    DIFF_NONE,
    DIFF_SOME,
    Deployed,
    body_of,
    make_image,
    up,
    update,
)
from tests.reliability.support import killed_while_waiting, wait_until

MEMBERS_PATH = "/v1/cloudimages/members"
NOBODY = "0123456789abcdef0123456789abcdef"  # a well-formed project ID no account has


# --- fixtures and helpers -----------------------------------------------------------------------------------


@pytest.fixture
def sharer(pemu: EmulatorServer, owner_host: DynamicProviderHost) -> DynamicProviderHost:
    """The owner's stack sending ImageShare's RPCs; member jobs of 0.3 s."""
    pemu.admin.update_settings(member_job_seconds=0.3)
    return owner_host.serving(ImageShareProvider(), TYPE_TOKENS["ImageShare"])


@pytest.fixture
def accepter(pemu: EmulatorServer, member_host: DynamicProviderHost) -> DynamicProviderHost:
    """The member's stack sending ImageShareAccepter's RPCs; member jobs of 0.3 s."""
    pemu.admin.update_settings(member_job_seconds=0.3)
    return member_host.serving(ImageShareAccepterProvider(), TYPE_TOKENS["ImageShareAccepter"])


@pytest.fixture
def golden(owner_console: ImsClient) -> str:
    """An active image of the default account in the home region."""
    return make_image(owner_console, "golden")


@pytest.fixture
def member_console(pemu: EmulatorServer) -> Iterator[ImsClient]:
    """The member account working outside Pulumi, in the home region."""
    client = ImsClient(load_config(pipeline_config(pemu, "member").get, {}))
    yield client
    client.close()


@pytest.fixture
def owner_sdk(pemu: EmulatorServer) -> Any:
    return sdk_client(pemu)


@pytest.fixture
def member_sdk(pemu: EmulatorServer) -> Any:
    return sdk_client(pemu, account="member")


def member_of(pemu: EmulatorServer, region: str = HOME_REGION) -> str:
    return pemu.project_for(region, "member")


def new_project(pemu: EmulatorServer, name: str, region: str = HOME_REGION) -> str:
    """The project in ``region`` of a new account (admin API)."""
    account = pemu.admin.add_account(name=name, access_key=f"{name.upper()}KEY", secret_key="SECRET")
    return str(account["projects"][region])


def member_writes(pemu: EmulatorServer) -> list[tuple[str, Any, int | None]]:
    """Every member change that reached IMS, as (method, body, status)."""
    return [(e["method"], body_of(e), e["status"]) for e in pemu.admin.requests(path=MEMBERS_PATH)]


def adds(*projects: str, image: str) -> tuple[str, Any, int]:
    return ("POST", {"images": [image], "projects": list(projects)}, 200)


def removes(*projects: str, image: str) -> tuple[str, Any, int]:
    return ("DELETE", {"images": [image], "projects": list(projects)}, 200)


def answer(status: str, project: str, image: str, **extra: str) -> tuple[str, Any, int]:
    return ("PUT", {"images": [image], "project_id": project, "status": status, **extra}, 200)


def finish(client: ImsClient, job_id: str) -> None:
    """Wait for a job submitted outside Pulumi to succeed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get_job(job_id)["status"]
        if status == "SUCCESS":
            return
        assert status != "FAIL", job_id
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def sdk_members(owner_sdk: Any, image_id: str) -> dict[str, str]:
    """The image's members and their status, as the owner lists them with the SDK."""
    listed = owner_sdk.list_image_members(ListImageMembersRequest(image_id=image_id, limit=1000))
    return {m.member_id: m.status for m in listed.members}


def shared_with_member(member_sdk: Any, status: str) -> list[str]:
    """The shared images the member has answered ``status`` (or not answered: ``pending``), with the SDK."""
    found = member_sdk.list_images(ListImagesRequest(visibility="shared", member_status=status))
    return [i.id for i in found.images]


def failure(call: Any) -> str:
    """The error the engine got from an RPC that must fail."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    return str(info.value.details())  # type: ignore[attr-defined]


def shared_outside(pemu: EmulatorServer, owner_console: ImsClient, image_id: str, *projects: str) -> None:
    """The owner shares the image outside Pulumi (the console), and the request log starts afresh."""
    finish(owner_console, owner_console.add_members([image_id], list(projects)))
    pemu.admin.clear_requests()


def killed_mid_job(
    pemu: EmulatorServer,
    account: str,
    provider: ResourceProvider,
    token: str,
    name: str,
    program: Mapping[str, Any],
) -> None:
    """``pulumi up`` of ``account``'s stack interrupted while IMS runs the member job."""
    killed_while_waiting(pemu, pipeline_config(pemu, account), name, program, (provider, token))


# --- ImageShare ---------------------------------------------------------------------------------------------


def test_share_makes_the_projects_pending_members(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_sdk: Any, member_sdk: Any
) -> None:
    """One add job with the program's projects; the outputs list each member and its status."""
    member = member_of(pemu)
    pemu.admin.clear_requests()
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member]})

    assert res.id == golden
    assert res.state["members"] == [{"project_id": member, "status": "pending"}]
    assert res.state["region"] == HOME_REGION and res.state["target_project_ids"] == [member]
    assert member_writes(pemu) == [adds(member, image=golden)]
    assert sdk_members(owner_sdk, golden) == {member: "pending"}
    shown = owner_sdk.show_image_member(ShowImageMemberRequest(image_id=golden, member_id=member))
    assert (shown.image_id, shown.status) == (golden, "pending")
    assert shared_with_member(member_sdk, "pending") == [golden]


def test_share_refresh_without_drift_changes_nothing(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str
) -> None:
    """Refresh reads the members back as they are; the next preview proposes nothing, and nothing is sent."""
    program = {"source_image_id": golden, "target_project_ids": [member_of(pemu)]}
    res = up(sharer, "share", program)
    pemu.admin.clear_requests()
    id_, outs, ins = sharer.refresh(res.name, res.id, res.state, res.inputs)
    assert (id_, outs) == (res.id, res.state)
    diff, _ = sharer.preview(res.name, id_, outs, ins, program)
    assert diff.changes == DIFF_NONE
    assert member_writes(pemu) == []


def test_share_refresh_shows_the_members_answer(
    pemu: EmulatorServer, sharer: DynamicProviderHost, accepter: DynamicProviderHost, golden: str
) -> None:
    """The member accepts, then rejects, in its own stack: the owner's refresh shows each answer in
    ``members`` and proposes no change."""
    member = member_of(pemu)
    program = {"source_image_id": golden, "target_project_ids": [member]}
    share = up(sharer, "share", program)
    acceptance = up(accepter, "accept", {"image_id": golden})

    def refreshed_members() -> Any:
        _, outs, ins = sharer.refresh(share.name, share.id, share.state, share.inputs)
        diff, _ = sharer.preview(share.name, share.id, outs, ins, program)
        assert diff.changes == DIFF_NONE
        return outs["members"]

    assert refreshed_members() == [{"project_id": member, "status": "accepted"}]
    accepter.delete(acceptance.name, acceptance.id, acceptance.state)
    assert refreshed_members() == [{"project_id": member, "status": "rejected"}]


def test_share_reordering_or_naming_the_provider_region_is_no_change(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str
) -> None:
    """Members are a set; ``region`` left out means the provider's region, so naming it is the same share."""
    projects = [member_of(pemu), new_project(pemu, "third")]
    program = {"source_image_id": golden, "target_project_ids": projects}
    res = up(sharer, "share", program)
    same = {
        "reordered": {**program, "target_project_ids": projects[::-1]},
        "provider region named": {**program, "region": HOME_REGION},
    }
    for label, changed in same.items():
        diff, _ = sharer.preview(res.name, res.id, res.state, res.inputs, changed)
        assert diff.changes == DIFF_NONE, label


def test_share_update_adds_and_removes_in_place(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient, owner_sdk: Any
) -> None:
    """A third project added and one dropped: an update (one remove job, then one add job), not a
    replacement; a member this resource did not add is left alone."""
    member, second, third, outside = (
        member_of(pemu),
        *(new_project(pemu, name) for name in ("second", "third", "outside")),
    )
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member, second]})
    shared_outside(pemu, owner_console, golden, outside)

    changed = update(sharer, res, {"source_image_id": golden, "target_project_ids": [member, third]})

    assert member_writes(pemu) == [removes(second, image=golden), adds(third, image=golden)]
    assert changed.state["target_project_ids"] == [member, third]
    assert [m["project_id"] for m in changed.state["members"]] == [member, third]
    assert sdk_members(owner_sdk, golden) == {member: "pending", third: "pending", outside: "pending"}


def test_share_update_at_the_member_limit_swaps_a_member_in_place(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_sdk: Any
) -> None:
    """IMS limits the members of an image (MAX_MEMBERS; the emulator's quota is lowered to 2 here): the
    dropped member leaves before the new one is added, so swapping one member at the limit succeeds."""
    member, second, third = member_of(pemu), new_project(pemu, "second"), new_project(pemu, "third")
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member, second]})
    pemu.admin.update_settings(member_quota=2)
    pemu.admin.clear_requests()

    changed = update(sharer, res, {"source_image_id": golden, "target_project_ids": [member, third]})

    assert member_writes(pemu) == [removes(second, image=golden), adds(third, image=golden)]
    assert [m["project_id"] for m in changed.state["members"]] == [member, third]
    assert sdk_members(owner_sdk, golden) == {member: "pending", third: "pending"}


@pytest.mark.parametrize("change", ["add a member", "drop a member"])
def test_share_update_after_the_image_was_deleted_says_so(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient, change: str
) -> None:
    """The source image was deleted outside Pulumi and the program changes the members without a refresh:
    the error says the image is gone and what to do, and nothing is sent."""
    member, second = member_of(pemu), new_project(pemu, "second")
    before, after = {
        "add a member": ([member], [member, second]),
        "drop a member": ([member, second], [member]),
    }[change]
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": before})
    owner_console.delete_image(golden)
    pemu.admin.clear_requests()

    diff, news = sharer.preview(
        res.name, res.id, res.state, res.inputs, {"source_image_id": golden, "target_project_ids": after}
    )
    assert diff.changes == DIFF_SOME and list(diff.replaces) == []
    message = failure(lambda: sharer.update(res.name, res.id, res.state, news))

    assert f"source image {golden} does not exist in {HOME_REGION} any more" in message
    assert "pulumi refresh" in message and "IMG." not in message
    assert member_writes(pemu) == []


def test_share_replaced_when_the_image_or_region_changes(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient, owner_sdk: Any
) -> None:
    """A new image or another region is a new share, made delete-first: the old share's members leave the old
    image, then the new image is shared."""
    member = member_of(pemu)
    program = {"source_image_id": golden, "target_project_ids": [member]}
    res = up(sharer, "share", program)
    other = make_image(owner_console, "golden-2")
    pemu.admin.clear_requests()
    for changed, replaces in (
        ({**program, "source_image_id": other}, ["source_image_id"]),
        ({**program, "region": OTHER_REGION}, ["region"]),
    ):
        diff, _ = sharer.preview(res.name, res.id, res.state, res.inputs, changed)
        assert (diff.changes, list(diff.replaces), diff.deleteBeforeReplace) == (DIFF_SOME, replaces, True)
    assert pemu.admin.requests() == []  # preview asks nothing of IMS

    sharer.delete(res.name, res.id, res.state)  # the old one first
    replacement = up(sharer, "share", {**program, "source_image_id": other})
    assert replacement.id == other
    assert member_writes(pemu) == [removes(member, image=golden), adds(member, image=other)]
    assert (sdk_members(owner_sdk, other), sdk_members(owner_sdk, golden)) == ({member: "pending"}, {})


def test_share_delete_removes_exactly_the_programs_members(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient, owner_sdk: Any
) -> None:
    member, outside = member_of(pemu), new_project(pemu, "outside")
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member]})
    shared_outside(pemu, owner_console, golden, outside)
    sharer.delete(res.name, res.id, res.state)
    assert member_writes(pemu) == [removes(member, image=golden)]
    assert sdk_members(owner_sdk, golden) == {outside: "pending"}


def test_share_refresh_after_a_member_was_removed_outside_shows_drift(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient, owner_sdk: Any
) -> None:
    """The removed project drops out of target_project_ids; the next up adds it back in place."""
    member, second = member_of(pemu), new_project(pemu, "second")
    program = {"source_image_id": golden, "target_project_ids": [member, second]}
    res = up(sharer, "share", program)
    finish(owner_console, owner_console.delete_members([golden], [second]))
    pemu.admin.clear_requests()

    id_, outs, ins = sharer.refresh(res.name, res.id, res.state, res.inputs)
    assert id_ == golden and ins["target_project_ids"] == [member]
    assert outs["members"] == [{"project_id": member, "status": "pending"}]
    restored = update(sharer, Deployed(res.name, id_, outs, ins), program)
    assert member_writes(pemu) == [adds(second, image=golden)]
    assert [m["project_id"] for m in restored.state["members"]] == [member, second]
    assert sdk_members(owner_sdk, golden) == {member: "pending", second: "pending"}


def test_share_refresh_after_the_image_was_deleted_drops_it(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient
) -> None:
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member_of(pemu)]})
    owner_console.delete_image(golden)
    pemu.admin.clear_requests()
    assert sharer.read(res.name, res.id, res.state, res.inputs).id == ""  # the engine drops it
    assert member_writes(pemu) == []


def test_share_in_the_other_region_goes_through_its_endpoint(
    pemu: EmulatorServer, sharer: DynamicProviderHost
) -> None:
    """region=cn-south-1: the image and the member project there, every call to that region's endpoint."""
    south_image = pemu.admin.add_image(name="golden-south", region=OTHER_REGION)["id"]
    member = member_of(pemu, OTHER_REGION)
    pemu.admin.clear_requests()
    program = {"source_image_id": south_image, "target_project_ids": [member], "region": OTHER_REGION}
    res = up(sharer, "south", program)
    assert res.state["region"] == OTHER_REGION
    assert res.state["members"] == [{"project_id": member, "status": "pending"}]
    id_, outs, _ = sharer.refresh(res.name, res.id, res.state, res.inputs)
    assert (id_, outs) == (res.id, res.state)
    sharer.delete(res.name, res.id, res.state)

    assert member_writes(pemu) == [adds(member, image=south_image), removes(member, image=south_image)]
    assert {e["region"] for e in pemu.admin.requests()} == {OTHER_REGION}
    assert sdk_members(sdk_client(pemu, region=OTHER_REGION), south_image) == {}


# --- ImageShareAccepter -------------------------------------------------------------------------------------


def test_accept_makes_the_image_the_members(
    pemu: EmulatorServer,
    accepter: DynamicProviderHost,
    golden: str,
    owner_console: ImsClient,
    owner_sdk: Any,
    member_sdk: Any,
) -> None:
    """One PUT as the member; the outputs say the status, the image's name, its owner and the region."""
    member = member_of(pemu)
    shared_outside(pemu, owner_console, golden, member)
    res = up(accepter, "accept", {"image_id": golden})

    assert res.id == golden
    assert (res.state["status"], res.state["name"], res.state["region"]) == (
        "accepted",
        "golden",
        HOME_REGION,
    )
    assert res.state["owner"] == pemu.project_for(HOME_REGION)
    assert res.state["visibility"] == "shared"  # as the member sees it (the owner's image is private)
    assert member_writes(pemu) == [answer("accepted", member, golden)]
    assert shared_with_member(member_sdk, "accepted") == [golden]
    assert sdk_members(owner_sdk, golden) == {member: "accepted"}


def test_accept_refresh_without_drift_changes_nothing(
    pemu: EmulatorServer, accepter: DynamicProviderHost, golden: str, owner_console: ImsClient
) -> None:
    shared_outside(pemu, owner_console, golden, member_of(pemu))
    program = {"image_id": golden}
    res = up(accepter, "accept", program)
    pemu.admin.clear_requests()
    id_, outs, ins = accepter.refresh(res.name, res.id, res.state, res.inputs)
    assert (id_, outs) == (res.id, res.state)
    diff, _ = accepter.preview(res.name, id_, outs, ins, program)
    assert diff.changes == DIFF_NONE
    assert member_writes(pemu) == []


def test_accept_delete_rejects(
    pemu: EmulatorServer,
    accepter: DynamicProviderHost,
    golden: str,
    owner_console: ImsClient,
    owner_sdk: Any,
    member_sdk: Any,
) -> None:
    """The image leaves the member's list; the owner's membership stays, rejected."""
    member = member_of(pemu)
    shared_outside(pemu, owner_console, golden, member)
    res = up(accepter, "accept", {"image_id": golden})
    pemu.admin.clear_requests()
    accepter.delete(res.name, res.id, res.state)
    assert member_writes(pemu) == [answer("rejected", member, golden)]
    assert shared_with_member(member_sdk, "rejected") == [golden]
    assert shared_with_member(member_sdk, "accepted") == []
    assert sdk_members(owner_sdk, golden) == {member: "rejected"}


def test_accept_refresh_after_the_owner_removed_the_member_drops_it(
    pemu: EmulatorServer, accepter: DynamicProviderHost, golden: str, owner_console: ImsClient
) -> None:
    member = member_of(pemu)
    shared_outside(pemu, owner_console, golden, member)
    res = up(accepter, "accept", {"image_id": golden})
    finish(owner_console, owner_console.delete_members([golden], [member]))
    pemu.admin.clear_requests()
    assert accepter.read(res.name, res.id, res.state, res.inputs).id == ""  # the engine drops it
    assert member_writes(pemu) == []


def test_accept_replaced_when_the_image_changes(
    pemu: EmulatorServer, accepter: DynamicProviderHost, golden: str, owner_console: ImsClient
) -> None:
    shared_outside(pemu, owner_console, golden, member_of(pemu))
    program = {"image_id": golden}
    res = up(accepter, "accept", program)
    diff, _ = accepter.preview(res.name, res.id, res.state, res.inputs, {"image_id": "another-image"})
    # delete first: the old image is rejected, then the new one accepted (an acceptance always is)
    assert (diff.changes, list(diff.replaces), diff.deleteBeforeReplace) == (DIFF_SOME, ["image_id"], True)
    diff, _ = accepter.preview(res.name, res.id, res.state, res.inputs, {**program, "region": HOME_REGION})
    assert diff.changes == DIFF_NONE  # the provider's region, named


def test_accept_with_another_vault_rejects_then_accepts_again(
    pemu: EmulatorServer, accepter: DynamicProviderHost, owner_console: ImsClient, member_sdk: Any
) -> None:
    """A full-ECS image accepted into one vault, then the program names another: the same membership is
    answered again, so the engine must reject (delete) before it accepts (create) anew."""
    member = member_of(pemu)
    whole = pemu.admin.add_image(name="whole", whole_image="CBR")["id"]
    first, second = (pemu.admin.add_vault(account="member")["id"] for _ in range(2))
    shared_outside(pemu, owner_console, whole, member)
    res = up(accepter, "whole", {"image_id": whole, "vault_id": first})
    pemu.admin.clear_requests()

    diff, news = accepter.preview(
        res.name, res.id, res.state, res.inputs, {"image_id": whole, "vault_id": second}
    )
    assert (list(diff.replaces), diff.deleteBeforeReplace) == (["vault_id"], True)
    accepter.delete(res.name, res.id, res.state)
    rid, state = accepter.create(res.name, news)

    assert member_writes(pemu) == [
        answer("rejected", member, whole),
        answer("accepted", member, whole, vault_id=second),
    ]
    assert (rid, state["status"]) == (whole, "accepted")
    assert shared_with_member(member_sdk, "accepted") == [whole]


def test_accept_of_a_share_accepted_already_warns_that_the_vault_is_not_sent(
    pemu: EmulatorServer,
    accepter: DynamicProviderHost,
    owner_console: ImsClient,
    member_console: ImsClient,
) -> None:
    """The member accepted the full-ECS image outside Pulumi (or an interrupted run did): create sends
    nothing, and since IMS does not report the vault, a warning says the program's vault_id was neither sent
    nor checked."""
    member = member_of(pemu)
    whole = pemu.admin.add_image(name="whole", whole_image="CBR")["id"]
    theirs, ours = (pemu.admin.add_vault(account="member")["id"] for _ in range(2))
    shared_outside(pemu, owner_console, whole, member)
    finish(member_console, member_console.update_member([whole], member, "accepted", theirs))
    pemu.admin.clear_requests()

    res = up(accepter, "whole", {"image_id": whole, "vault_id": ours})

    assert member_writes(pemu) == []
    assert (res.id, res.state["status"]) == (whole, "accepted")
    warning = accepter.line_with("warning", whole, "accepted already")
    assert "vault_id" in warning and "not sent" in warning and "cannot be checked" in warning


def test_accepting_an_image_not_shared_with_the_member_is_imss_error(
    pemu: EmulatorServer, accepter: DynamicProviderHost, golden: str
) -> None:
    pemu.admin.clear_requests()
    inputs = accepter.checked("accept", {"image_id": golden})
    message = failure(lambda: accepter.create("accept", inputs))
    assert "IMG.0027" in message and golden in message
    assert f"not shared with this project ({member_of(pemu)})" in message
    assert [w[0] for w in member_writes(pemu)] == ["PUT"]  # refused once, not retried


# --- interrupted runs ---------------------------------------------------------------------------------------


def test_share_rerun_after_a_kill_sends_no_second_add_once_the_member_is_there(
    pemu: EmulatorServer, golden: str, owner_sdk: Any
) -> None:
    pemu.admin.update_settings(member_job_seconds=3.0)
    member = member_of(pemu)
    program = {"source_image_id": golden, "target_project_ids": [member]}
    pemu.admin.clear_requests()
    share, token = ImageShareProvider(), TYPE_TOKENS["ImageShare"]
    killed_mid_job(pemu, "default", share, token, "share", program)
    wait_until(lambda: member in sdk_members(owner_sdk, golden), 30, "the add job finishes on its own")

    with DynamicProviderHost(pipeline_config(pemu)) as second:
        view = second.serving(share, token)
        rid, state = view.create("share", view.checked("share", program))

    assert member_writes(pemu) == [adds(member, image=golden)]
    assert (rid, state["members"]) == (golden, [{"project_id": member, "status": "pending"}])


def test_share_rerun_after_a_kill_on_a_hung_job_adds_once_more(
    pemu: EmulatorServer, golden: str, owner_sdk: Any
) -> None:
    """The first add job never ends, so the member is not there: the re-run sends one more, and only one."""
    pemu.admin.add_fault(kind="job_hang", method="POST", path=MEMBERS_PATH)
    member = member_of(pemu)
    program = {"source_image_id": golden, "target_project_ids": [member]}
    pemu.admin.clear_requests()
    share, token = ImageShareProvider(), TYPE_TOKENS["ImageShare"]
    killed_mid_job(pemu, "default", share, token, "share", program)

    with DynamicProviderHost(pipeline_config(pemu)) as second:
        view = second.serving(share, token)
        _, state = view.create("share", view.checked("share", program))

    assert member_writes(pemu) == [adds(member, image=golden)] * 2
    assert state["members"] == [{"project_id": member, "status": "pending"}]
    assert sdk_members(owner_sdk, golden) == {member: "pending"}


def test_share_rerun_after_a_kill_with_another_project_list(
    pemu: EmulatorServer, golden: str, owner_sdk: Any
) -> None:
    """The killed run's member is there, the program now lists another project: the re-run adds that one, its
    state is exactly the new list, and the earlier member (which IMS cannot tell from one added outside
    Pulumi) is left alone and named in a warning."""
    pemu.admin.update_settings(member_job_seconds=3.0)
    member, other = member_of(pemu), new_project(pemu, "other")
    pemu.admin.clear_requests()
    share, token = ImageShareProvider(), TYPE_TOKENS["ImageShare"]
    killed_mid_job(
        pemu, "default", share, token, "share", {"source_image_id": golden, "target_project_ids": [member]}
    )
    wait_until(lambda: member in sdk_members(owner_sdk, golden), 30, "the add job finishes on its own")

    changed = {"source_image_id": golden, "target_project_ids": [other]}
    with DynamicProviderHost(pipeline_config(pemu)) as second:
        view = second.serving(share, token)
        _, state = view.create("share", view.checked("share", changed))
        warning = second.line_with("warning", member)

    assert member_writes(pemu)[1:] == [adds(other, image=golden)]
    assert state["target_project_ids"] == [other]
    assert state["members"] == [{"project_id": other, "status": "pending"}]
    assert "left alone" in warning
    # it says whose the member may be, and how this resource takes it over
    assert all(w in warning for w in ("another ImageShare", "outside Pulumi", "interrupted"))
    assert "add them to target_project_ids" in warning
    assert sdk_members(owner_sdk, golden) == {member: "pending", other: "pending"}


def test_accept_rerun_after_a_kill_sends_no_second_put_once_accepted(
    pemu: EmulatorServer, golden: str, owner_console: ImsClient, member_sdk: Any
) -> None:
    member = member_of(pemu)
    shared_outside(pemu, owner_console, golden, member)
    pemu.admin.update_settings(member_job_seconds=3.0)
    accept, token = ImageShareAccepterProvider(), TYPE_TOKENS["ImageShareAccepter"]
    killed_mid_job(pemu, "member", accept, token, "accept", {"image_id": golden})
    wait_until(lambda: shared_with_member(member_sdk, "accepted") == [golden], 30, "the PUT job finishes")

    with DynamicProviderHost(pipeline_config(pemu, "member")) as second:
        view = second.serving(accept, token)
        rid, state = view.create("accept", view.checked("accept", {"image_id": golden}))

    assert member_writes(pemu) == [answer("accepted", member, golden)]
    assert (rid, state["status"]) == (golden, "accepted")


def test_accept_rerun_after_a_kill_on_a_hung_job_answers_once_more(
    pemu: EmulatorServer, golden: str, owner_console: ImsClient, member_sdk: Any
) -> None:
    member = member_of(pemu)
    shared_outside(pemu, owner_console, golden, member)
    pemu.admin.add_fault(kind="job_hang", method="PUT", path=MEMBERS_PATH)
    accept, token = ImageShareAccepterProvider(), TYPE_TOKENS["ImageShareAccepter"]
    killed_mid_job(pemu, "member", accept, token, "accept", {"image_id": golden})

    with DynamicProviderHost(pipeline_config(pemu, "member")) as second:
        view = second.serving(accept, token)
        _, state = view.create("accept", view.checked("accept", {"image_id": golden}))

    assert member_writes(pemu) == [answer("accepted", member, golden)] * 2
    assert state["status"] == "accepted"
    assert shared_with_member(member_sdk, "accepted") == [golden]


# --- errors that do not go away -----------------------------------------------------------------------------


def test_a_failed_member_job_is_an_error_naming_job_and_code(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_sdk: Any
) -> None:
    pemu.admin.add_fault(kind="job_fail", path=MEMBERS_PATH, error_code="IMG.0061", fail_reason="share broke")
    pemu.admin.clear_requests()
    inputs = sharer.checked("share", {"source_image_id": golden, "target_project_ids": [member_of(pemu)]})
    message = failure(lambda: sharer.create("share", inputs))
    [job] = [j for j in pemu.admin.state()["jobs"] if j["job_type"] == "imsAddImageMembersJob"]
    assert f"IMS job {job['job_id']} failed: IMG.0061: share broke" in message
    assert len(member_writes(pemu)) == 1  # no second add job
    assert sdk_members(owner_sdk, golden) == {}


def test_a_member_job_past_its_deadline_says_what_a_rerun_does(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str
) -> None:
    """The error names the job and says the members may still change and a re-run sends only what is
    missing (not the image-create advice about adopting an image)."""
    pemu.admin.add_fault(kind="job_hang", path=MEMBERS_PATH)
    program = {
        "source_image_id": golden,
        "target_project_ids": [member_of(pemu)],
        "timeouts": {"create": "1s"},
    }
    inputs = sharer.checked("share", program)
    message = failure(lambda: sharer.create("share", inputs)).splitlines()[-1]
    [job] = [j for j in pemu.admin.state()["jobs"] if j["job_type"] == "imsAddImageMembersJob"]
    assert f"waiting for IMS member job {job['job_id']}. " in message
    assert "may still run the job and change the members" in message and "image" not in message
    assert len(member_writes(pemu)) == 1


@pytest.mark.parametrize("refusal", ["yourself", "unknown project", "member quota"])
def test_ims_refusals_reach_the_program_with_their_code(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_sdk: Any, refusal: str
) -> None:
    """Sharing with the owner's own project, with a project no one has, beyond the member quota: IMS's
    code in the error, one POST, no member."""
    member = member_of(pemu)
    projects, code = {
        "yourself": ([pemu.project_for(HOME_REGION)], "IMG.0076"),
        "unknown project": ([NOBODY], "IMG.0108"),
        "member quota": ([member, new_project(pemu, "second")], "IMG.0088"),
    }[refusal]
    pemu.admin.update_settings(member_quota=1)
    pemu.admin.clear_requests()
    inputs = sharer.checked("share", {"source_image_id": golden, "target_project_ids": projects})
    message = failure(lambda: sharer.create("share", inputs))
    assert code in message
    assert member_writes(pemu) == [("POST", {"images": [golden], "projects": projects}, 400)]
    assert sdk_members(owner_sdk, golden) == {}


@pytest.mark.parametrize(
    ("projects", "prop", "words"),
    [
        (
            ["not-a-project"],
            "target_project_ids[0]",
            "32 lower-case hexadecimal characters (got 'not-a-project')",
        ),
        ([NOBODY, NOBODY], "target_project_ids", f"each project once; repeated: {NOBODY}"),
        (
            [f"{n:032x}" for n in range(MAX_MEMBERS + 1)],
            "target_project_ids",
            f"at most {MAX_MEMBERS} (got 257)",
        ),
    ],
)
def test_bad_project_lists_fail_check_before_any_call(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, projects: list[str], prop: str, words: str
) -> None:
    pemu.admin.clear_requests()
    response = sharer.check("share", {"source_image_id": golden, "target_project_ids": projects})
    [(where, reason)] = [(f.property, f.reason) for f in response.failures]
    assert where == prop and reason.startswith("target_project_ids must") and words in reason
    assert pemu.admin.requests() == []


# --- one image, several resources; replacements; answers that say nothing of the image ---------------------


def test_a_delete_first_replacement_of_a_share_adds_its_members_again(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_sdk: Any
) -> None:
    """What `pulumi up --replace` of a share (same image) does, delete-first as the model asks
    (test_pipeline_model checks the option): the members are removed and added again, pending (the members
    answer anew), never left out by the old share's delete running last."""
    member = member_of(pemu)
    program = {"source_image_id": golden, "target_project_ids": [member]}
    res = up(sharer, "share", program)
    pemu.admin.clear_requests()
    sharer.delete(res.name, res.id, res.state)  # the engine, delete_before_replace: the old one first
    again = up(sharer, "share", program)
    assert again.id == golden
    assert member_writes(pemu) == [removes(member, image=golden), adds(member, image=golden)]
    assert sdk_members(owner_sdk, golden) == {member: "pending"}


def test_a_second_share_of_a_member_says_it_now_manages_it(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str
) -> None:
    """Two ImageShares naming one project of one image: the second finds the member there, sends nothing for
    it, and says (naming the project) that it now manages that membership, which its delete removes."""
    member, second = member_of(pemu), new_project(pemu, "second")
    up(sharer, "first", {"source_image_id": golden, "target_project_ids": [member]})
    pemu.admin.clear_requests()
    up(sharer, "other", {"source_image_id": golden, "target_project_ids": [member, second]})
    assert member_writes(pemu) == [adds(second, image=golden)]
    warning = sharer.line_with("warning", member, "already")
    assert "another ImageShare" in warning and "removes them" in warning and second not in warning
    assert "aliases" in warning


def test_a_member_added_in_place_that_was_there_already_is_named_too(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_console: ImsClient
) -> None:
    """An update that adds a project another share (or someone) made a member already sends nothing for it and
    says, as a create would, that this resource now manages it."""
    member, second = member_of(pemu), new_project(pemu, "second")
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member]})
    shared_outside(pemu, owner_console, golden, second)
    update(sharer, res, {"source_image_id": golden, "target_project_ids": [member, second]})
    assert member_writes(pemu) == []
    warning = sharer.line_with("warning", second, "already")
    assert "now manages those members" in warning and member not in warning


def test_a_second_acceptance_of_one_image_says_it_now_answers_for_it(
    pemu: EmulatorServer, accepter: DynamicProviderHost, golden: str, owner_console: ImsClient
) -> None:
    """Two ImageShareAccepters of one image (say, in two stacks of the member): the second sends nothing and
    says that it now answers for the acceptance, which its delete rejects."""
    shared_outside(pemu, owner_console, golden, member_of(pemu))
    up(accepter, "first", {"image_id": golden})
    pemu.admin.clear_requests()
    up(accepter, "second", {"image_id": golden})
    assert member_writes(pemu) == []
    warning = accepter.line_with("warning", golden, "accepted already")
    assert "another ImageShareAccepter" in warning and "rejects the image" in warning
    assert "vault_id" not in warning


@pytest.mark.parametrize("code", ["APIGW.0101", None], ids=["gateway route", "bare 404"])
def test_a_404_that_says_nothing_of_the_image_never_drops_the_share(
    pemu: EmulatorServer, sharer: DynamicProviderHost, golden: str, owner_sdk: Any, code: str | None
) -> None:
    """The member list answered 404 by the gateway (a route it does not offer) or by something that is not
    IMS, while the image is there: refresh and destroy fail, saying what was answered; the share stays in
    the state and its members on IMS."""
    member = member_of(pemu)
    res = up(sharer, "share", {"source_image_id": golden, "target_project_ids": [member]})
    fault: dict[str, Any] = {"kind": "status", "status": 404, "method": "GET", "path": r".*/members"}
    fault["count"] = 50
    fault.update({"error_code": code} if code else {"body": "<html>404 Not Found</html>"})
    pemu.admin.add_fault(**fault)
    refreshed = failure(lambda: sharer.read(res.name, res.id, res.state, res.inputs))
    destroyed = failure(lambda: sharer.delete(res.name, res.id, res.state))
    assert all("404" in text for text in (refreshed, destroyed))
    pemu.admin.clear_faults()
    assert sdk_members(owner_sdk, golden) == {member: "pending"}


def test_a_member_job_ims_stops_knowing_says_what_a_rerun_does(pemu: EmulatorServer, golden: str) -> None:
    """The job APIs answer "no such job" past the recovery grace: the error speaks of the member request and
    what a re-run does, not of an image being made."""
    pemu.admin.update_settings(member_job_seconds=0.3)
    pemu.admin.add_fault(
        kind="status",
        status=404,
        error_code="IMG.0086",
        method="GET",
        path=r"/v1/(cloudimages/job|[0-9a-f]+/jobs)/.*",
        count=1000,
    )
    with DynamicProviderHost(pipeline_config(pemu, **{"ims:recoveryGrace": "1"})) as host:
        view = host.serving(ImageShareProvider(), TYPE_TOKENS["ImageShare"])
        inputs = view.checked("share", {"source_image_id": golden, "target_project_ids": [member_of(pemu)]})
        message = failure(lambda: view.create("share", inputs)).splitlines()[-1]
    assert "accepted the member request as job" in message
    assert "may still run the job and change the members" in message and "adopts" not in message
