"""get_image / get_images (and their _output forms) against a real emulator over HTTP.

The lookups run in the Pulumi program's own process and read the provider's configuration (``ims:*`` stack
config, environment). They are driven here directly (with the stack config set) and from programs under
Pulumi's mock runtime, in an update and in a preview. The emulator serves two regions and the member account,
on a manual clock, so every image has its own ``created_at``/``updated_at`` and nothing depends on timing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import FrozenInstanceError
from typing import Any

import pulumi
import pytest
from google.protobuf.json_format import MessageToDict
from pulumi.runtime.rpc import UNKNOWN, serialize_properties
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from ims_provider import lookup
from ims_provider.client import _DEBUG_HANDLER, ImsClient
from ims_provider.config import SOURCES, load_config
from ims_provider.credentials import CREDENTIALS
from ims_provider.emulator import EmulatorServer
from ims_provider.errors import ImsApiError, ImsProviderError
from ims_provider.lookup import (
    AmbiguousImageError,
    Image,
    ImageNotFoundError,
    InvalidLookupError,
    get_image,
    get_image_output,
    get_images,
    get_images_output,
)
from ims_provider.mockrun import ProgramMocks, _private_event_loop
from tests.reliability.support import leaked

NORTH, SOUTH = "cn-north-4", "cn-south-1"
PROJECT = "lookup-tests"
EP = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
SECRET_KEY = "Sk-LOOKUP-secret-7f3e-0042"
SECURITY_TOKEN = "Sts-LOOKUP-token-9b1d-77"
AUTH_TOKEN = "Xat-LOOKUP-iam-token-5c2e-99"
ENV_NAMES = {name for source in SOURCES.values() for name in source.env} | {
    name for source in CREDENTIALS if source.origin == "env" for name in source.names
}


# --- fixtures and helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No credentials or endpoints from the shell; every test starts with no client and no debug handler."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    yield
    pulumi.runtime.set_all_config({})
    for client in lookup._clients.values():
        client.close()
    lookup._clients.clear()
    http_log = logging.getLogger("ims_provider.http")
    for handler in [h for h in http_log.handlers if h.get_name() == _DEBUG_HANDLER]:
        http_log.removeHandler(handler)
    http_log.setLevel(logging.NOTSET)


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    """Two regions, the default and the member account, a manual clock, deletes that stay visible."""
    with EmulatorServer(regions=(NORTH, SOUTH), clock_mode="manual", delete_seconds=600) as server:
        server.admin.update_settings(member_job_seconds=1)
        yield server


def stack_config(emu: EmulatorServer, account: str = "default", **extra: str) -> dict[str, str]:
    """The provider's stack config for one account, cn-north-4 at home, cn-south-1 through regionEndpoints."""
    who = emu.account(account)
    return {
        "ims:region": NORTH,
        "ims:endpoint": emu.url_for(NORTH),
        "ims:regionEndpoints": json.dumps({SOUTH: emu.url_for(SOUTH)}),
        "ims:accessKey": who.access_key,
        "ims:secretKey": who.secret_key,
        **extra,
    }


def configure(config: Mapping[str, str]) -> None:
    """What the Pulumi runtime does for a program: its stack config, read by the lookups."""
    pulumi.runtime.set_all_config(dict(config))


def plant(emu: EmulatorServer, name: str, **spec: Any) -> str:
    """An active image, one minute after the previous one (distinct created_at and updated_at)."""
    emu.admin.advance(60)
    image: dict[str, Any] = emu.admin.add_image(name=name, **spec)
    return str(image["id"])


def client_for(emu: EmulatorServer, account: str = "default", region: str = NORTH) -> ImsClient:
    config = {**stack_config(emu, account), "ims:region": region, "ims:endpoint": emu.url_for(region)}
    return ImsClient(load_config(config.get, {}))


def list_requests(emu: EmulatorServer) -> list[dict[str, Any]]:
    return [r for r in emu.admin.requests(method="GET") if r["path"] == "/v2/cloudimages"]


def names(images: list[Image]) -> list[str]:
    return [image.name for image in images]


def run_program(
    program: Callable[[], None], config: Mapping[str, str], *, preview: bool = False
) -> dict[str, Any]:
    """Run a program under Pulumi's mock runtime (mocks that serve no invoke: the lookups make none) with
    ``config`` as its stack config; return its outputs as the engine would get them (an unknown one as
    ``UNKNOWN``, numbers as floats)."""
    mocks = ProgramMocks(dict(config), PROJECT)
    with _private_event_loop():
        try:
            reset_options(project=PROJECT, stack="lookups", preview=preview)
            pulumi.runtime.set_all_config(dict(config))
            pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="lookups", preview=preview)
            root = get_root_resource()
            assert root is not None
            _sync_await(run_pulumi_func(program))
            # what the engine would be sent as the stack's outputs (the mock runtime registers none)
            struct = _sync_await(serialize_properties(root.outputs, {}))
            return dict(MessageToDict(struct))
        finally:
            mocks.wait_idle()
            pulumi.runtime.set_all_config({})
            reset_options()


def unknown_output() -> pulumi.Output[str]:
    """An output whose value a preview does not know yet (as a resource still to be created gives)."""
    import asyncio

    loop = asyncio.get_event_loop()
    value: asyncio.Future[str | None] = loop.create_future()
    value.set_result(None)
    known: asyncio.Future[bool] = loop.create_future()
    known.set_result(False)
    return pulumi.Output(set(), value, known)  # type: ignore[arg-type]


# --- every filter -------------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(emu: EmulatorServer) -> dict[str, str]:
    """Images of every kind the default account sees in cn-north-4, by name -> ID."""
    planted = {
        "web-a": plant(emu, "web-a", tags={"team": "web", "tier": "front"}),
        "web-b": plant(
            emu, "web-b", tags={"team": "web", "tier": "back"}, architecture="arm",
            os_version="Ubuntu 22.04 server 64bit",
        ),
        "data-1": plant(emu, "data-1", virtual_env_type="DataImage", tags={"team": "data"}, min_disk=10),
        "iso-1": plant(emu, "iso-1", virtual_env_type="IsoImage", os_version="Debian GNU/Linux 12.0.0 64bit"),
        "ep-img": plant(emu, "ep-img", enterprise_project_id=EP, os_version="CentOS 8.0 64bit"),
        "dotted": plant(emu, "dotted", tags={"app.tier": "web", "a=b": "c"}),
        "Ubuntu 22.04 public": plant(
            emu, "Ubuntu 22.04 public", public=True, os_version="Ubuntu 22.04 server 64bit"
        ),
        "Market CentOS": plant(emu, "Market CentOS", public=True, imagetype="market"),
    }  # fmt: skip
    configure(stack_config(emu))
    return planted


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"name": "web-a"}, {"web-a"}),
    ({"name": "web"}, set()),  # exact, like IMS
    ({"name_regex": "^web-"}, {"web-a", "web-b"}),
    ({"name_regex": "[0-9]$"}, {"data-1", "iso-1"}),
    ({"visibility": "public"}, {"Ubuntu 22.04 public"}),
    ({"visibility": "market"}, {"Market CentOS"}),
    ({"visibility": "private"}, {"web-a", "web-b", "data-1", "iso-1", "ep-img", "dotted"}),
    ({"visibility": "shared"}, set()),
    ({"tags": {"team": "web"}}, {"web-a", "web-b"}),
    ({"tags": {"team": "web", "tier": "back"}}, {"web-b"}),  # every pair must match
    ({"tags": {"tier": "back", "team": "data"}}, set()),
    ({"tags": {"app.tier": "web"}}, {"dotted"}),  # a key with a dot
    ({"tags": {"a=b": "c"}}, {"dotted"}),  # a key IMS's tag query cannot carry: checked on the answer
    ({"tags": {" team ": " web "}}, {"web-a", "web-b"}),  # IMS trims tags
    ({"os": "Ubuntu"}, {"web-b", "Ubuntu 22.04 public"}),
    ({"os_version": "CentOS 8.0 64bit"}, {"ep-img"}),
    ({"os": "Debian", "os_version": "Debian GNU/Linux 12.0.0 64bit"}, {"iso-1"}),
    ({"architecture": "arm"}, {"web-b"}),
    ({"image_type": "DataImage"}, {"data-1"}),
    ({"image_type": "IsoImage"}, {"iso-1"}),
    ({"enterprise_project_id": EP}, {"ep-img"}),
    ({"enterprise_project_id": "0", "tags": {"team": "web"}}, {"web-a", "web-b"}),
    ({"architecture": "x86", "visibility": "private", "tags": {"team": "web"}}, {"web-a"}),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS, ids=[json.dumps(f) for f, _ in FILTERS])
def test_each_filter_selects_what_it_names(
    catalogue: dict[str, str], filters: dict[str, Any], expected: set[str]
) -> None:
    found = get_images(**filters)
    assert set(names(found)) == expected
    assert all(image.id == catalogue[image.name] for image in found)


def test_owner_selects_one_project(emu: EmulatorServer, catalogue: dict[str, str]) -> None:
    mine = emu.project_for(NORTH)
    assert set(names(get_images(owner=mine))) == {"web-a", "web-b", "data-1", "iso-1", "ep-img", "dotted"}
    public_owner = get_image(name="Ubuntu 22.04 public").owner
    assert names(get_images(owner=public_owner, visibility="public")) == ["Ubuntu 22.04 public"]
    assert get_images(owner=public_owner, visibility="private") == []  # never another project's


def test_no_filter_lists_everything_visible_newest_first(catalogue: dict[str, str]) -> None:
    found = get_images()
    assert names(found) == list(reversed(catalogue))  # planted a minute apart
    assert {image.visibility for image in found} == {"private", "public", "market"}


def test_results_are_typed_and_read_from_ims(emu: EmulatorServer, catalogue: dict[str, str]) -> None:
    image = get_image(name="web-b")
    assert isinstance(image, Image)
    assert image == Image(
        id=catalogue["web-b"],
        name="web-b",
        status="active",
        visibility="private",
        owner=emu.project_for(NORTH),
        os="Ubuntu",
        os_version="Ubuntu 22.04 server 64bit",
        os_type="Linux",
        architecture="arm",
        image_type="FusionCompute",
        min_disk=40,
        min_ram=0,
        max_ram=None,
        disk_format="zvhd2",
        size=image.size,
        description=None,
        enterprise_project_id="0",
        data_origin=image.data_origin,
        created_at=image.created_at,
        updated_at=image.updated_at,
        member_status=None,
        tags=("team.web", "tier.back"),
    )
    assert image.size and image.size > 0
    assert image.created_at and image.created_at == image.updated_at
    assert (image.data_origin or "").startswith("instance,")
    with pytest.raises(FrozenInstanceError):
        image.name = "other"  # type: ignore[misc]
    data = get_image(image_type="DataImage")
    assert (data.os, data.os_version, data.min_disk) == (None, None, 10)


def test_every_filter_goes_to_ims_too(emu: EmulatorServer, catalogue: dict[str, str]) -> None:
    """What IMS has a parameter for is asked for (no filter is left to the client alone), with IMS's page size
    and every granted enterprise project unless one is named."""
    emu.admin.clear_requests()
    get_images(
        name="web-b", os="Ubuntu", os_version="Ubuntu 22.04 server 64bit", architecture="arm",
        image_type="FusionCompute", tags={"team": "web", "tier": "back"}, owner=emu.project_for(NORTH),
    )  # fmt: skip
    get_images(enterprise_project_id=EP, visibility="shared")
    first, second = (r["query"] for r in list_requests(emu))
    assert first == {
        "name": "web-b",
        "__platform": "Ubuntu",
        "__os_version": "Ubuntu 22.04 server 64bit",
        "architecture": "arm",
        "virtual_env_type": "FusionCompute",
        "tag": "team=web",
        "owner": emu.project_for(NORTH),
        "status": "active",
        "enterprise_project_id": "all_granted_eps",
        "limit": str(lookup.PAGE_SIZE),
    }
    assert second == {
        "enterprise_project_id": EP,
        "visibility": "shared",
        "__imagetype": "shared",
        "member_status": "accepted",
        "status": "active",
        "limit": str(lookup.PAGE_SIZE),
    }


def test_filters_a_server_ignores_are_applied_on_its_answer(
    emu: EmulatorServer, catalogue: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that ignores __os_version, architecture and tag (not every IMS documents them) still gives
    only matching images: each filter is checked again on what it lists."""
    real = ImsClient.list_images

    def ignoring(self: ImsClient, **filters: str) -> list[dict[str, Any]]:
        for key in ("__os_version", "architecture", "tag", "__platform"):
            filters.pop(key, None)
        return real(self, **filters)

    monkeypatch.setattr(ImsClient, "list_images", ignoring)
    assert names(get_images(os_version="CentOS 8.0 64bit")) == ["ep-img"]
    assert names(get_images(architecture="arm")) == ["web-b"]
    assert set(names(get_images(architecture="x86", tags={"team": "web"}))) == {"web-a"}
    assert names(get_images(tags={"team": "web", "tier": "back"})) == ["web-b"]
    assert set(names(get_images(os="Ubuntu"))) == {"web-b", "Ubuntu 22.04 public"}


def test_status_defaults_to_active(emu: EmulatorServer) -> None:
    kept = plant(emu, "app")
    gone = plant(emu, "app")
    configure(stack_config(emu))
    assert client_for(emu).delete_image(gone) is True  # listed as "deleted" for delete_seconds
    assert [i.id for i in get_images(name="app")] == [kept]
    assert [(i.id, i.status) for i in get_images(name="app", status="deleted")] == [(gone, "deleted")]
    assert {i.id for i in get_images(name="app", status=None)} == {kept, gone}
    assert get_image(name="app").id == kept


# --- paging -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 6])
def test_every_page_is_read(emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """More images than a page: the lookup follows markers to the end (a short page, or an empty one after
    a full one), and misses none."""
    monkeypatch.setattr(lookup, "PAGE_SIZE", 2)
    ids = [plant(emu, "many", tags={"batch": "1"}) for _ in range(count)]
    plant(emu, "other")
    configure(stack_config(emu))
    emu.admin.clear_requests()

    found = get_images(name="many", tags={"batch": "1"})

    assert [image.id for image in found] == list(reversed(ids))
    pages = list_requests(emu)
    assert len(pages) == count // 2 + 1
    assert all(page["query"]["limit"] == "2" for page in pages)
    assert [page["query"].get("marker") for page in pages] == [None] + [
        list(reversed(ids))[2 * n + 1] for n in range(len(pages) - 1)
    ]
    assert get_image(name="many", most_recent=True).id == ids[-1]


# --- get_image: one, none, several --------------------------------------------------------------------------


def test_most_recent_takes_the_newest_updated_at(emu: EmulatorServer) -> None:
    """Not the newest created: the one changed last (Terraform's rule)."""
    oldest, middle, newest = (plant(emu, "golden", tags={"release": "1"}) for _ in range(3))
    emu.admin.advance(60)
    client_for(emu).update_image(oldest, [{"op": "replace", "path": "/min_ram", "value": 1024}])
    configure(stack_config(emu))

    assert [i.id for i in get_images(name="golden")] == [oldest, newest, middle]
    picked = get_image(name="golden", most_recent=True)
    assert (picked.id, picked.min_ram) == (oldest, 1024)
    assert picked.updated_at is not None and picked.created_at is not None
    assert picked.updated_at > picked.created_at


def test_one_match_needs_no_most_recent(emu: EmulatorServer) -> None:
    only = plant(emu, "solo")
    plant(emu, "solo-not")
    configure(stack_config(emu))
    assert get_image(name="solo").id == only
    assert get_image(name_regex="^solo$", most_recent=True).id == only


def test_no_match_is_an_error_naming_the_filters(emu: EmulatorServer) -> None:
    plant(emu, "web-a", tags={"team": "web"})
    configure(stack_config(emu))
    with pytest.raises(ImageNotFoundError) as info:
        get_image(name="web-a", tags={"team": "data"}, os="Ubuntu")
    assert str(info.value) == (
        "get_image: no image matches name='web-a', tags={'team': 'data'}, os='Ubuntu', status='active' "
        f"in {NORTH}"
    )
    assert isinstance(info.value, ImsProviderError)
    assert get_images(name="web-a", tags={"team": "data"}) == []  # get_images: an empty list


def test_several_matches_without_most_recent_is_an_error_listing_them(emu: EmulatorServer) -> None:
    ids = [plant(emu, "twin") for _ in range(3)]
    configure(stack_config(emu))
    with pytest.raises(AmbiguousImageError) as info:
        get_image(name="twin")
    message = str(info.value)
    newest_first = list(reversed(ids))
    assert info.value.ids == tuple(newest_first)
    assert f"3 images match name='twin', status='active' in {NORTH}" in message
    assert f"(newest first: {', '.join(newest_first)})" in message
    assert "most_recent=True" in message


def test_many_matches_are_listed_up_to_a_limit(emu: EmulatorServer) -> None:
    ids = [plant(emu, "crowd") for _ in range(lookup.SHOWN_IDS + 2)]
    configure(stack_config(emu))
    with pytest.raises(AmbiguousImageError) as info:
        get_image(name="crowd")
    assert len(info.value.ids) == len(ids)
    assert f"{ids[2]} and 2 more)" in str(info.value)  # the two oldest are not spelled out
    assert ids[0] not in str(info.value) and ids[1] not in str(info.value)


# --- sharing, regions ---------------------------------------------------------------------------------------


def share(emu: EmulatorServer, image_id: str, answer: str | None) -> None:
    """The owner shares the image with the member project; the member answers (None: it does not)."""
    member_project = emu.project_for(NORTH, "member")
    client_for(emu).add_members([image_id], [member_project])
    emu.admin.advance(60)
    if answer is not None:
        client_for(emu, "member").update_member([image_id], member_project, answer)
        emu.admin.advance(60)


def test_shared_images_by_the_side_that_looks(emu: EmulatorServer) -> None:
    """The member finds an accepted image with visibility="shared", never a pending or rejected one; the
    owner still finds its shared image with visibility="private" (its __imagetype is "shared")."""
    accepted = plant(emu, "golden", tags={"pipeline": "golden"})
    pending = plant(emu, "golden", tags={"pipeline": "golden"})
    rejected = plant(emu, "golden", tags={"pipeline": "golden"})
    unshared = plant(emu, "golden", tags={"pipeline": "golden"})
    share(emu, accepted, "accepted")
    share(emu, pending, None)
    share(emu, rejected, "rejected")
    owner = emu.project_for(NORTH)

    configure(stack_config(emu, "member"))
    found = get_images(visibility="shared", tags={"pipeline": "golden"})
    assert [(i.id, i.visibility, i.member_status, i.owner) for i in found] == [
        (accepted, "shared", "accepted", owner)
    ]
    assert get_image(name="golden", visibility="shared", owner=owner).id == accepted
    assert [i.id for i in get_images(name="golden")] == [accepted]  # what the member sees at all
    assert get_images(name="golden", visibility="private") == []

    real = ImsClient.list_images

    def ignoring_member_status(self: ImsClient, **filters: str) -> list[dict[str, Any]]:
        filters.pop("member_status", None)  # and so answering with every status
        return [
            i
            for status in ("accepted", "pending", "rejected")
            for i in real(self, **filters, member_status=status)
        ]

    with pytest.MonkeyPatch.context() as patch:  # a server that ignores member_status never widens "shared"
        patch.setattr(ImsClient, "list_images", ignoring_member_status)
        assert [i.id for i in get_images(visibility="shared", tags={"pipeline": "golden"})] == [accepted]

    configure(stack_config(emu))
    mine = get_images(name="golden", visibility="private")
    assert [i.id for i in mine] == [unshared, rejected, pending, accepted]
    assert {i.visibility for i in mine} == {"private"}
    assert get_images(name="golden", visibility="shared") == []


def test_region_reaches_another_region_through_region_endpoints(emu: EmulatorServer) -> None:
    plant(emu, "app")
    south = emu.admin.add_image(name="app", region=SOUTH)["id"]
    configure(stack_config(emu))
    emu.admin.clear_requests()

    found = get_image(name="app", region=SOUTH)

    assert (found.id, found.owner) == (south, emu.project_for(SOUTH))
    assert {r["region"] for r in list_requests(emu)} == {SOUTH}
    with pytest.raises(ImageNotFoundError, match=f"in {SOUTH}$"):
        get_image(name="north-only", region=SOUTH)


# --- arguments are checked before any call ----------------------------------------------------------------


ANY_TAG_CHARS = "letters, digits, spaces and _ . : = + - @"
BAD_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"visibility": "secret"}, "visibility must be 'private', 'public', 'market' or 'shared' (got 'secret')"),
    (
        {"owner": "someone"},
        "owner must be a project ID: 32 lower-case hexadecimal characters (got 'someone')",
    ),
    ({"architecture": "ppc64"}, "architecture must be 'x86' or 'arm' (got 'ppc64')"),
    (
        {"image_type": "ECS"},
        "image_type must be 'FusionCompute', 'Ironic', 'DataImage' or 'IsoImage' (got 'ECS')",
    ),
    (
        {"status": "ACTIVE"},
        "status must be 'queued', 'saving', 'active', 'deleted' or 'killed' (got 'ACTIVE')",
    ),
    (
        {"enterprise_project_id": "prod"},
        'enterprise_project_id must be "0" (the default enterprise project) or an enterprise project UUID '
        "(got 'prod')",
    ),
    (
        {"region": "North"},
        "region must be a region ID such as 'cn-north-4' or 'ap-southeast-1' (got 'North')",
    ),
    ({"name": ""}, "name must not be empty (got '')"),
    ({"name": 7}, "name must be a string (got int)"),
    ({"os": "  "}, "os must not be empty (got '  ')"),
    ({"name_regex": "web-("}, "name_regex is not a valid regular expression: missing ), unterminated"),
    ({"tags": ["team.web"]}, 'tags must be a mapping of tag key to value, e.g. {"team": "web"} (got list)'),
    ({"tags": {"team": 1}}, "tags: the value of tag 'team' must be a string (got int 1)"),
    ({"tags": {"team": None}}, "tags: the value of tag 'team' must be a string (got NoneType None)"),
    ({"tags": {"": "web"}}, "tags: tag key '' must be 1 to 36 characters long"),
    ({"tags": {"team#": "web"}}, f"tags: tag key 'team#' may contain only {ANY_TAG_CHARS}"),
    ({"tags": {"team": "x" * 44}}, "tags: value of tag 'team' must be at most 43 characters long"),
    (
        {"tags": {f"k{n}": "v" for n in range(11)}},
        "tags may name at most 10 pairs, as many as an image holds",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS, ids=[m[:40] for _, m in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_before_any_call(
    emu: EmulatorServer, arguments: dict[str, Any], message: str
) -> None:
    configure(stack_config(emu))
    emu.admin.clear_requests()
    for function in (get_images, get_image):
        with pytest.raises(InvalidLookupError) as info:
            function(**arguments)
        assert str(info.value).startswith(f"{function.__name__}: {message}")
        assert isinstance(info.value, ValueError)
    assert emu.admin.requests() == []


def test_most_recent_must_be_a_boolean(emu: EmulatorServer) -> None:
    configure(stack_config(emu))
    with pytest.raises(
        InvalidLookupError, match=r"^get_image: most_recent must be true or false \(got 'yes'\)"
    ):
        get_image(name="x", most_recent="yes")  # type: ignore[arg-type]
    assert emu.admin.requests() == []


# --- from a Pulumi program ----------------------------------------------------------------------------------


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_a_program_uses_the_results_in_an_update_and_in_a_preview(emu: EmulatorServer, preview: bool) -> None:
    """The _output forms take outputs (a mapping of them too), resolve in a preview as in an update, and
    give attribute access (``.id``) on the typed result."""
    old = plant(emu, "golden", tags={"release": "2026.12"}, architecture="arm")
    new = plant(emu, "golden", tags={"release": "2026.12"}, architecture="arm")
    plant(emu, "golden", tags={"release": "2026.11"}, architecture="arm")
    south = emu.admin.add_image(name="golden", region=SOUTH, tags={"release": "2026.12"})["id"]

    def program() -> None:
        release = pulumi.Output.from_input("2026.12")
        golden = get_image_output(
            name="golden", tags={"release": release}, architecture="arm", most_recent=True
        )
        pulumi.export("id", golden.id)
        pulumi.export("name", golden.name)
        pulumi.export("typed", golden.apply(lambda image: isinstance(image, Image)))
        every = get_images_output(name=golden.name, tags={"release": release})
        pulumi.export("ids", every.apply(lambda images: [image.id for image in images]))
        pulumi.export("first", every[0].id)
        elsewhere = get_image_output(name="golden", region=pulumi.Output.from_input(SOUTH))
        pulumi.export("south", elsewhere.id)
        pulumi.export("whole", golden)  # a whole result is exported as the mapping of its fields

    outputs = run_program(program, stack_config(emu), preview=preview)

    whole = outputs.pop("whole")
    assert (whole["id"], whole["architecture"], whole["tags"], whole["min_disk"]) == (
        new,
        "arm",
        ["release.2026.12"],
        40,
    )
    assert set(whole) == {f.name for f in dataclasses.fields(Image)}
    assert outputs == {
        "id": new,
        "name": "golden",
        "typed": True,
        "ids": [new, old],
        "first": new,
        "south": south,
    }


def test_a_preview_waits_for_unknown_inputs_and_asks_nothing(emu: EmulatorServer) -> None:
    plant(emu, "golden")
    emu.admin.clear_requests()

    def program() -> None:
        pulumi.export("id", get_image_output(name="golden", owner=unknown_output()).id)
        pulumi.export("count", get_images_output(tags={"release": unknown_output()}).apply(len))

    assert run_program(program, stack_config(emu), preview=True) == {"id": UNKNOWN, "count": UNKNOWN}
    assert list_requests(emu) == []


def test_a_program_fails_with_the_lookup_error(emu: EmulatorServer) -> None:
    plant(emu, "twin")
    plant(emu, "twin")

    def ambiguous() -> None:
        pulumi.export("id", get_image_output(name="twin").id)

    def missing() -> None:
        pulumi.export("id", get_image_output(name="ghost", visibility="shared").id)

    def invalid() -> None:
        pulumi.export("id", get_image_output(name="twin", visibility="everyone").id)

    with pytest.raises(AmbiguousImageError, match="2 images match name='twin'"):
        run_program(ambiguous, stack_config(emu))
    with pytest.raises(ImageNotFoundError, match="no image matches name='ghost', visibility='shared'"):
        run_program(missing, stack_config(emu), preview=True)
    with pytest.raises(InvalidLookupError, match="visibility must be"):
        run_program(invalid, stack_config(emu))


def test_a_member_program_finds_what_was_shared_with_it(emu: EmulatorServer) -> None:
    """The consumer side of the golden pipeline: the member account's stack config, visibility="shared"."""
    image = plant(emu, "golden", tags={"pipeline": "golden"})
    share(emu, image, "accepted")
    owner = emu.project_for(NORTH)

    def program() -> None:
        found = get_image_output(
            visibility="shared", owner=owner, tags={"pipeline": "golden"}, most_recent=True
        )
        pulumi.export("image", found.apply(lambda i: [i.id, i.visibility, i.member_status]))

    assert run_program(program, stack_config(emu, "member"))["image"] == [image, "shared", "accepted"]


# --- no secret anywhere -------------------------------------------------------------------------------------


def leaks(texts: list[str]) -> list[str]:
    return leaked((SECRET_KEY, SECURITY_TOKEN, AUTH_TOKEN), texts)


@pytest.fixture
def secret_emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        regions=(NORTH, SOUTH), secret_key=SECRET_KEY, auth_token=AUTH_TOKEN, clock_mode="manual"
    ) as server:
        yield server


@pytest.mark.parametrize("credentials", ["aksk+token", "iam-token", "wrong-secret"])
def test_no_secret_in_results_logs_or_errors(
    secret_emu: EmulatorServer,
    credentials: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = secret_emu
    plant(emu, "twin", tags={"team": "web"})
    plant(emu, "twin", tags={"team": "web"})
    emu.admin.add_image(name="twin", region=SOUTH)
    base = {**stack_config(emu), "ims:debug": "true"}
    del base["ims:accessKey"], base["ims:secretKey"]
    config = {
        "aksk+token": {
            **base,
            "ims:accessKey": emu.access_key,
            "ims:secretKey": SECRET_KEY,
            "ims:securityToken": SECURITY_TOKEN,
        },
        "iam-token": {**base, "ims:authToken": AUTH_TOKEN, "ims:projectId": emu.project_for(NORTH)},
        "wrong-secret": {**base, "ims:accessKey": emu.access_key, "ims:secretKey": SECRET_KEY[::-1]},
    }[credentials]
    caplog.set_level(logging.DEBUG, logger="ims_provider")
    texts: list[str] = []

    def attempt(call: Callable[[], object]) -> None:
        try:
            texts.append(repr(call()))
        except ImsProviderError as exc:
            texts.extend([str(exc), repr(exc)])

    configure(config)
    attempt(lambda: get_images(tags={"team": "web"}))
    attempt(lambda: get_image(name="twin"))
    attempt(lambda: get_image(name="ghost"))
    attempt(lambda: get_image(name="twin", region=SOUTH))
    attempt(lambda: get_images(visibility="nobody"))  # type: ignore[arg-type]

    def program() -> None:
        pulumi.export("image", get_image_output(name="twin", most_recent=True))
        pulumi.export("images", get_images_output(name="twin"))

    try:
        texts.append(repr(run_program(program, config, preview=True)))
    except ImsProviderError as exc:
        texts.extend([str(exc), repr(exc)])

    texts += [record.getMessage() for record in caplog.records]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    if credentials == "wrong-secret":
        assert any("HTTP 401" in t or "APIGW" in t for t in texts)
    else:
        assert any("newest first" in t for t in texts)  # the ambiguous get_image really ran
    assert any("GET" in record.getMessage() for record in caplog.records)  # ims:debug logged the calls
    assert leaks(texts) == []


def test_wrong_credentials_fail_with_ims_error(secret_emu: EmulatorServer) -> None:
    config = {
        **stack_config(secret_emu),
        "ims:secretKey": "not-the-secret",
        "ims:projectId": secret_emu.project_for(NORTH),
    }
    configure(config)
    with pytest.raises(ImsApiError) as info:
        get_images()
    assert info.value.status in (401, 403)
