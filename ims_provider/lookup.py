"""Looking images up from a Pulumi program: ``get_image``, ``get_images`` and their ``_output`` forms.

A dynamic provider cannot serve invokes, so these call IMS from the program's own process, with the same
configuration keys and environment as the provider (``ims:*``, ``huaweicloud:*``, ``HW_*``, ...). Like
Terraform's data sources they run in a preview too. What they return is IMS's, read through the same model
the resources use; credentials stay in the client and never reach a result, a log line or an error.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from ims_provider.client import ImsClient
from ims_provider.config import ProviderConfig, load_config
from ims_provider.errors import ImsProviderError
from ims_provider.model.live import LiveImage, text, timestamp
from ims_provider.model.private_image import PRIVATE_IMAGE
from ims_provider.model.rules import whole

__all__ = ["Image", "get_image", "get_image_output", "get_images", "get_images_output"]

# visibility (as Terraform's data sources name it) → the IMS list filter that selects it
_VISIBILITY = {"private": "private", "public": "gold", "shared": "shared"}


def _reported(name: str, live: LiveImage) -> Any:
    reported = PRIVATE_IMAGE.field(name).reported
    assert reported is not None
    return reported.live_value(live)


@dataclass(frozen=True)
class Image:
    """One image as IMS lists it to this project."""

    id: str
    name: str
    status: str
    visibility: str
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
    def of(cls, raw: Mapping[str, Any]) -> Image:
        live = LiveImage(raw)
        return cls(
            id=live.id,
            name=live.name or "",
            status=live.status,
            visibility=str(raw.get("visibility") or ""),
            owner=live.owner or "",
            os=text(raw.get("__platform")),
            os_version=_reported("os_version", live),
            os_type=_reported("os_type", live),
            architecture=_reported("architecture", live) or "x86",
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
            tags=tuple(t for t in raw.get("tags") or [] if isinstance(t, str)),
        )


def _has_tags(raw: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    """Every wanted pair is among the image's "key.value" strings: matched whole, never split."""
    listed = {t for t in raw.get("tags") or [] if isinstance(t, str)}
    return all(f"{k}.{v}" in listed or (v == "" and k in listed) for k, v in wanted.items())


# --- the client of the program process ---------------------------------------------------------------------

_clients: dict[tuple[str, ...], ImsClient] = {}
_clients_lock = threading.Lock()


def _config_value(key: str) -> str | None:
    """A namespaced stack config key ("ims:region") as the program sees it."""
    from pulumi.runtime.config import get_config

    value = get_config(key)
    return None if value is None else str(value)


def _client(region: str | None, get: Callable[[str], str | None] | None = None) -> ImsClient:
    config: ProviderConfig = load_config(get or _config_value, os.environ)
    if region:
        config = config.for_region(region)
    key = (config.region, config.endpoint, config.access_key or "", str(config.project_id))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = ImsClient(config)
        return client


# --- the lookups ------------------------------------------------------------------------------------------


def get_images(
    *,
    name: str | None = None,
    name_regex: str | None = None,
    visibility: str | None = None,
    owner: str | None = None,
    tags: Mapping[str, str] | None = None,
    os: str | None = None,
    os_version: str | None = None,
    architecture: str | None = None,
    image_type: str | None = None,
    status: str | None = "active",
    enterprise_project_id: str | None = None,
    region: str | None = None,
) -> list[Image]:
    """Every image that matches all the filters given, paged through; newest first."""
    if visibility is not None and visibility not in _VISIBILITY:
        raise ValueError(f"visibility must be one of {', '.join(_VISIBILITY)} (got {visibility!r})")
    if architecture is not None and architecture not in ("x86", "arm"):
        raise ValueError(f"architecture must be x86 or arm (got {architecture!r})")
    pattern = re.compile(name_regex) if name_regex is not None else None
    wanted_tags = {str(k).strip(): str(v).strip() for k, v in (tags or {}).items()}
    query: dict[str, str] = {}
    for key, value in (
        ("name", name),
        ("owner", owner),
        ("__platform", os),
        ("__os_version", os_version),
        ("architecture", architecture),
        ("virtual_env_type", image_type),
        ("status", status),
        ("enterprise_project_id", enterprise_project_id),
    ):
        if value is not None:
            query[key] = value
    if visibility is not None:
        query["__imagetype"] = _VISIBILITY[visibility]
        if visibility == "shared":
            query["visibility"] = "shared"
    if wanted_tags:
        key, value = next(iter(wanted_tags.items()))
        query["tag"] = f"{key}={value}"
    listed = _client(region).list_images(**query)
    found = [
        Image.of(raw)
        for raw in listed
        if (pattern is None or pattern.search(str(raw.get("name") or "")))
        and _has_tags(raw, wanted_tags)
        and (os_version is None or raw.get("__os_version") == os_version)
        and (architecture is None or (_reported("architecture", LiveImage(raw)) or "x86") == architecture)
    ]
    return sorted(found, key=_newest_first)


def _newest_first(image: Image) -> tuple[float, float, str]:
    return (-timestamp(image.updated_at), -timestamp(image.created_at), image.id)


def get_image(*, most_recent: bool = False, **filters: Any) -> Image:
    """The one image that matches: an error when none does, and when several do unless ``most_recent``
    (then the newest ``updated_at``, as Terraform's data source picks)."""
    found = get_images(**filters)
    given = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "no filters"
    if not found:
        raise ImsProviderError(f"get_image: no image matches {given}")
    if len(found) > 1 and not most_recent:
        ids = ", ".join(i.id for i in found[:5]) + (", ..." if len(found) > 5 else "")
        raise ImsProviderError(
            f"get_image: {len(found)} images match {given} ({ids}); narrow the filters, or set "
            "most_recent=True to take the newest"
        )
    return found[0]


def _resolved(values: Mapping[str, Any], call: Callable[..., Any]) -> pulumi.Output[Any]:
    inputs = {k: v for k, v in values.items() if v is not None}
    return pulumi.Output.all(**inputs).apply(lambda args: call(**args))


def get_images_output(**filters: pulumi.Input[Any]) -> pulumi.Output[list[Image]]:
    """:func:`get_images` with inputs that may be outputs of other resources."""
    return _resolved(filters, get_images)


def get_image_output(**filters: pulumi.Input[Any]) -> pulumi.Output[Image]:
    """:func:`get_image` with inputs that may be outputs of other resources."""
    return _resolved(filters, get_image)
