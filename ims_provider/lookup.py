"""Looking images up from a Pulumi program: ``get_image``, ``get_images`` and their ``_output`` forms.

A dynamic provider cannot serve invokes, so these call IMS from the program's own process, with the same
configuration keys and environment as the provider (``ims:*``, ``huaweicloud:*``, ``HW_*``, ...). Like
Terraform's data sources (``huaweicloud_images_image(s)``) they run in a preview too. Every filter is sent to
IMS where IMS has a query parameter for it, and every filter is checked again on what IMS answers, so a
parameter a server ignores (``__os_version`` is not documented everywhere; IMS takes one ``tag``) never
widens a result. Credentials stay in the client: no result, log line or error carries one.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, ValidationError

from ims_provider.client import ImsClient
from ims_provider.config import ProviderConfig, load_config
from ims_provider.errors import ImsProviderError
from ims_provider.model.live import LiveImage, status_of, text, timestamp
from ims_provider.model.private_image import PRIVATE_IMAGE
from ims_provider.model.rules import (
    MAX_TAGS,
    Architecture,
    EnterpriseProjectId,
    Flag,
    NonEmpty,
    ProjectId,
    RegionId,
    Str,
    TagPair,
    whole,
)
from ims_provider.model.schema import failures_of

__all__ = [
    "PAGE_SIZE",
    "AmbiguousImageError",
    "Image",
    "ImageNotFoundError",
    "InvalidLookupError",
    "get_image",
    "get_image_output",
    "get_images",
    "get_images_output",
]

# Images asked for per page: IMS's own default page size (ims-api-more.md §5.2); pages follow by marker.
PAGE_SIZE = 500
# An ambiguous get_image names this many of the images it found.
SHOWN_IDS = 10

Visibility = Literal["private", "public", "market", "shared"]
ImageType = Literal["FusionCompute", "Ironic", "DataImage", "IsoImage"]
Status = Literal["queued", "saving", "active", "deleted", "killed"]
# visibility (as Terraform's data sources name it) → IMS's __imagetype. "private" also takes the caller's
# images listed as "shared" because they have members: an image shared with others is still its owner's.
_IMAGETYPES: Mapping[str, tuple[str, ...]] = {
    "private": ("private", "shared"),
    "public": ("gold",),
    "market": ("market",),
    "shared": ("shared",),
}
# Without an enterprise project filter IMS may answer for the default one only: ask for every granted one, as
# Terraform's data sources do.
ALL_ENTERPRISE_PROJECTS = "all_granted_eps"


class InvalidLookupError(ImsProviderError, ValueError):
    """A lookup argument is malformed; raised before any call to IMS."""


class ImageNotFoundError(ImsProviderError):
    """``get_image`` found no image that matches."""


class AmbiguousImageError(ImsProviderError):
    """``get_image`` found several images and was not told to take the newest."""

    def __init__(self, message: str, ids: tuple[str, ...]) -> None:
        super().__init__(message)
        self.ids = ids


def _reported(name: str, live: LiveImage) -> Any:
    reported = PRIVATE_IMAGE.field(name).reported
    assert reported is not None
    return reported.live_value(live)


def _architecture(raw: Mapping[str, Any]) -> str:
    return str(_reported("architecture", LiveImage(raw)) or "x86")


def _visibility(raw: Mapping[str, Any], project_id: str) -> str:
    """Who may use the image, from the caller's side: public or market (Huawei's), private (the caller's
    own, shared with others or not), or shared (another project's, shared with the caller)."""
    imagetype, visibility = raw.get("__imagetype"), raw.get("visibility")
    if imagetype == "market":
        return "market"
    if imagetype == "gold" or visibility == "public":
        return "public"
    if raw.get("owner") == project_id:
        return "private"
    if visibility == "shared" or imagetype == "shared" or raw.get("member_status"):
        return "shared"
    return str(visibility or "private")


def _tag_strings(raw: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(t for t in raw.get("tags") or [] if isinstance(t, str))


@dataclass(frozen=True)
class Image(Mapping[str, Any]):
    """One image as IMS lists it to the caller (the names of Terraform's ``huaweicloud_images_image``).

    Read it by attribute (``image.id``, also on an output: ``get_image_output(...).id``); it is a read-only
    mapping of its fields too, so a whole result can be exported or passed as an input (Pulumi serializes
    mappings, not other objects)."""

    id: str
    name: str
    status: str
    visibility: str  # private, public, market or shared: see get_images(visibility=)
    owner: str
    os: str | None
    os_version: str | None
    os_type: str | None
    architecture: str
    image_type: str | None
    min_disk: int | None
    min_ram: int | None
    max_ram: int | None
    disk_format: str | None
    size: int | None
    description: str | None
    enterprise_project_id: str | None
    data_origin: str | None
    created_at: str | None
    updated_at: str | None
    member_status: str | None
    # IMS's own tag strings, "key.value": a key written through image_tags may hold a dot, so they are not
    # split here (use tags= to select by key and value).
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: Mapping[str, Any], project_id: str) -> Image:
        """The image as listed to ``project_id`` (the caller's project: it decides ``visibility``)."""
        live = LiveImage(raw)
        return cls(
            id=live.id,
            name=live.name or "",
            status=live.status,
            visibility=_visibility(raw, project_id),
            owner=live.owner or "",
            os=text(raw.get("__platform")),
            os_version=_reported("os_version", live),
            os_type=_reported("os_type", live),
            architecture=_architecture(raw),
            image_type=text(raw.get("virtual_env_type")),
            min_disk=whole(raw.get("min_disk")),
            min_ram=whole(raw.get("min_ram")),
            max_ram=whole(raw.get("max_ram")),
            disk_format=text(raw.get("disk_format")),
            size=whole(raw.get("__image_size")) or whole(raw.get("size")),
            description=_reported("description", live),
            enterprise_project_id=text(raw.get("enterprise_project_id")),
            data_origin=live.origin,
            created_at=text(raw.get("created_at")),
            updated_at=text(raw.get("updated_at")),
            member_status=text(raw.get("member_status")),
            tags=_tag_strings(raw),
        )

    def __getitem__(self, key: str) -> Any:
        if key not in _IMAGE_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_IMAGE_FIELDS)

    def __len__(self) -> int:
        return len(_IMAGE_FIELDS)


_IMAGE_FIELDS = tuple(f.name for f in fields(Image))


# --- the filters ------------------------------------------------------------------------------------------


class _Arguments(BaseModel):
    """The rules of each argument (the same rule types as the resources' inputs), for the error messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: NonEmpty | None = None
    name_regex: Str | None = None
    visibility: Visibility | None = None
    owner: ProjectId | None = None
    os: NonEmpty | None = None
    os_version: NonEmpty | None = None
    architecture: Architecture | None = None
    image_type: ImageType | None = None
    status: Status | None = None
    enterprise_project_id: EnterpriseProjectId | None = None
    region: RegionId | None = None
    most_recent: Flag = False


@dataclass(frozen=True)
class _Filters:
    """Valid filters; the tags as a trimmed mapping (IMS trims tag keys and values)."""

    name: str | None = None
    name_regex: re.Pattern[str] | None = None
    visibility: str | None = None
    owner: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    os: str | None = None
    os_version: str | None = None
    architecture: str | None = None
    image_type: str | None = None
    status: str | None = "active"
    enterprise_project_id: str | None = None

    def query(self) -> dict[str, str]:
        """IMS's query parameters for every filter it has one for (visibility: see :meth:`imagetypes`)."""
        sent = {
            "name": self.name,
            "owner": self.owner,
            "__platform": self.os,
            "__os_version": self.os_version,
            "architecture": self.architecture,
            "virtual_env_type": self.image_type,
            "status": self.status,
            "enterprise_project_id": self.enterprise_project_id or ALL_ENTERPRISE_PROJECTS,
        }
        query = {key: value for key, value in sent.items() if value is not None}
        # IMS queries one tag, "key=value"; a key holding "=" would be read wrong, so such pairs are checked
        # on the answer only (as every pair is).
        tag = next(((k, v) for k, v in self.tags.items() if "=" not in k), None)
        if tag is not None:
            query["tag"] = f"{tag[0]}={tag[1]}"
        if self.visibility == "shared":
            # the recipient's query (ims-api-more.md §3.5): images it accepted
            query.update(visibility="shared", member_status="accepted")
        return query

    def imagetypes(self) -> tuple[str | None, ...]:
        """The ``__imagetype`` of each query to send (None: no such filter, one query)."""
        return _IMAGETYPES[self.visibility] if self.visibility else (None,)

    def matches(self, raw: Mapping[str, Any], project_id: str) -> bool:
        """Every filter holds for this listed image (whatever the server did with the query)."""
        checks: tuple[tuple[str | None, Callable[[], object]], ...] = (
            (self.name, lambda: raw.get("name")),
            (self.owner, lambda: raw.get("owner")),
            (self.os, lambda: raw.get("__platform")),
            (self.os_version, lambda: raw.get("__os_version")),
            (self.architecture, lambda: _architecture(raw)),
            (self.image_type, lambda: raw.get("virtual_env_type")),
            (self.status, lambda: status_of(raw)),
            (self.enterprise_project_id, lambda: text(raw.get("enterprise_project_id")) or "0"),
            (self.visibility, lambda: _visibility(raw, project_id)),
        )
        if any(wanted is not None and read() != wanted for wanted, read in checks):
            return False
        if self.visibility == "private" and raw.get("owner") != project_id:
            return False
        if self.visibility == "shared" and text(raw.get("member_status")) not in (None, "accepted"):
            return False  # "shared" is what the caller accepted (the query says member_status=accepted)
        if self.name_regex is not None and not self.name_regex.search(str(raw.get("name") or "")):
            return False
        listed = set(_tag_strings(raw))
        return all(f"{key}.{value}" in listed for key, value in self.tags.items())

    def describe(self) -> str:
        parts = [
            f"{key}={value!r}"
            for key, value in (
                ("name", self.name),
                ("name_regex", self.name_regex.pattern if self.name_regex else None),
                ("visibility", self.visibility),
                ("owner", self.owner),
                ("tags", dict(self.tags) or None),
                ("os", self.os),
                ("os_version", self.os_version),
                ("architecture", self.architecture),
                ("image_type", self.image_type),
                ("status", self.status),
                ("enterprise_project_id", self.enterprise_project_id),
            )
            if value is not None
        ]
        return ", ".join(parts) or "no filters"


def _invalid(function: str, reason: str) -> InvalidLookupError:
    return InvalidLookupError(f"{function}: {reason}")


def _checked_tags(function: str, tags: object) -> dict[str, str]:
    """A mapping of string keys to string values that an image can carry (IMS's tag rules, at most 10)."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise _invalid(
            function,
            f'tags must be a mapping of tag key to value, e.g. {{"team": "web"}} (got {type(tags).__name__})',
        )
    if len(tags) > MAX_TAGS:
        raise _invalid(
            function, f"tags may name at most {MAX_TAGS} pairs, as many as an image holds (got {len(tags)})"
        )
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            wrong, what = (key, "key") if not isinstance(key, str) else (value, f"value of tag {key!r}")
            raise _invalid(
                function, f"tags: the {what} must be a string (got {type(wrong).__name__} {wrong!r})"
            )
        try:
            pair = TagPair(key=key, value=value)
        except ValidationError as exc:
            cause = (exc.errors()[0].get("ctx") or {}).get("error")
            raise _invalid(function, f"tags: {cause or exc.errors()[0]['msg']}") from None
        checked[pair.key.strip()] = pair.value.strip()
    return checked


def _filters(function: str, arguments: Mapping[str, Any]) -> _Filters:
    """The arguments checked, each against its rule; the first broken one is the error."""
    given = {key: value for key, value in arguments.items() if key != "tags"}
    failures = failures_of(_Arguments, given, "", function)
    if failures:
        raise _invalid(function, "; ".join(failure.reason for failure in failures))
    tags = _checked_tags(function, arguments.get("tags"))
    pattern = arguments.get("name_regex")
    try:
        compiled = re.compile(pattern) if pattern is not None else None
    except re.error as exc:
        raise _invalid(
            function, f"name_regex is not a valid regular expression: {exc} (got {pattern!r})"
        ) from None
    return _Filters(
        name=arguments.get("name"),
        name_regex=compiled,
        visibility=arguments.get("visibility"),
        owner=arguments.get("owner"),
        tags=tags,
        os=arguments.get("os"),
        os_version=arguments.get("os_version"),
        architecture=arguments.get("architecture"),
        image_type=arguments.get("image_type"),
        status=arguments.get("status"),
        enterprise_project_id=arguments.get("enterprise_project_id"),
    )


# --- the client of the program process ---------------------------------------------------------------------

_clients: dict[ProviderConfig, ImsClient] = {}
_clients_lock = threading.Lock()


def _config_value(key: str) -> str | None:
    """A namespaced stack config key ("ims:region") as the program sees it."""
    from pulumi.runtime.config import get_config

    value = get_config(key)
    return None if value is None else str(value)


def _client(region: str | None) -> ImsClient:
    """One client per configuration (and region) for the program's lifetime, as the provider keeps one."""
    config: ProviderConfig = load_config(_config_value, os.environ)
    if region:
        config = config.for_region(region)
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = ImsClient(config)
        return client


# --- the lookups ------------------------------------------------------------------------------------------


def _found(function: str, arguments: Mapping[str, Any]) -> tuple[list[Image], _Filters, str]:
    """The matching images, newest first, with the filters and the region they were looked up in."""
    filters = _filters(function, arguments)
    client = _client(arguments.get("region"))
    project_id = client.project_id
    query = filters.query()
    if filters.visibility == "private":
        if filters.owner not in (None, project_id):
            return [], filters, client.config.region  # another project's images are never private to us
        query["owner"] = project_id
    listed: dict[str, Mapping[str, Any]] = {}
    for imagetype in filters.imagetypes():
        extra = {} if imagetype is None else {"__imagetype": imagetype}
        for raw in client.list_images(**query, **extra, limit=str(PAGE_SIZE)):
            if filters.matches(raw, project_id):
                listed.setdefault(str(raw.get("id") or ""), raw)
    found = sorted((Image.of(raw, project_id) for raw in listed.values()), key=_newest_first)
    return found, filters, client.config.region


def _newest_first(image: Image) -> tuple[float, float, str]:
    return (-timestamp(image.updated_at), -timestamp(image.created_at), image.id)


def get_images(
    *,
    name: str | None = None,
    name_regex: str | None = None,
    visibility: Visibility | None = None,
    owner: str | None = None,
    tags: Mapping[str, str] | None = None,
    os: str | None = None,
    os_version: str | None = None,
    architecture: Architecture | None = None,
    image_type: ImageType | None = None,
    status: Status | None = "active",
    enterprise_project_id: str | None = None,
    region: str | None = None,
) -> list[Image]:
    """Every image the caller can see that matches all the filters given, every page; newest first
    (``updated_at``, then ``created_at``). ``status=None`` takes images in any status."""
    found, _, _ = _found("get_images", locals())
    return found


def get_image(
    *,
    name: str | None = None,
    name_regex: str | None = None,
    visibility: Visibility | None = None,
    owner: str | None = None,
    tags: Mapping[str, str] | None = None,
    os: str | None = None,
    os_version: str | None = None,
    architecture: Architecture | None = None,
    image_type: ImageType | None = None,
    status: Status | None = "active",
    enterprise_project_id: str | None = None,
    region: str | None = None,
    most_recent: bool = False,
) -> Image:
    """The one image that matches: an error when none does, and when several do unless ``most_recent``
    (then the newest ``updated_at``, as Terraform's data source picks)."""
    arguments = dict(locals())
    found, filters, where = _found("get_image", arguments)
    scope = f"{filters.describe()} in {where}" if where else filters.describe()
    if not found:
        raise ImageNotFoundError(f"get_image: no image matches {scope}")
    if len(found) > 1 and not most_recent:
        ids = tuple(image.id for image in found)
        shown = ", ".join(ids[:SHOWN_IDS]) + (
            f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
        )
        raise AmbiguousImageError(
            f"get_image: {len(found)} images match {scope} (newest first: {shown}); narrow the filters, "
            "or set most_recent=True to take the newest (by updated_at)",
            ids,
        )
    return found[0]


def _resolved(values: Mapping[str, Any], call: Callable[..., Any]) -> pulumi.Output[Any]:
    """Run ``call`` once every input is known (in a preview too); while one is unknown, so is the result."""
    return pulumi.Output.from_input(dict(values)).apply(lambda args: call(**args))


def get_images_output(
    *,
    name: pulumi.Input[str] | None = None,
    name_regex: pulumi.Input[str] | None = None,
    visibility: pulumi.Input[str] | None = None,
    owner: pulumi.Input[str] | None = None,
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
    os: pulumi.Input[str] | None = None,
    os_version: pulumi.Input[str] | None = None,
    architecture: pulumi.Input[str] | None = None,
    image_type: pulumi.Input[str] | None = None,
    status: pulumi.Input[str] | None = "active",
    enterprise_project_id: pulumi.Input[str] | None = None,
    region: pulumi.Input[str] | None = None,
) -> pulumi.Output[list[Image]]:
    """:func:`get_images` with inputs that may be outputs of other resources."""
    return _resolved(locals(), get_images)


def get_image_output(
    *,
    name: pulumi.Input[str] | None = None,
    name_regex: pulumi.Input[str] | None = None,
    visibility: pulumi.Input[str] | None = None,
    owner: pulumi.Input[str] | None = None,
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
    os: pulumi.Input[str] | None = None,
    os_version: pulumi.Input[str] | None = None,
    architecture: pulumi.Input[str] | None = None,
    image_type: pulumi.Input[str] | None = None,
    status: pulumi.Input[str] | None = "active",
    enterprise_project_id: pulumi.Input[str] | None = None,
    region: pulumi.Input[str] | None = None,
    most_recent: pulumi.Input[bool] = False,
) -> pulumi.Output[Image]:
    """:func:`get_image` with inputs that may be outputs of other resources."""
    return _resolved(locals(), get_image)
