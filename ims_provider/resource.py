"""The program side: ``PrivateImage`` and its typed arguments, as a Pulumi Python program uses them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from ims_provider.model.image_copy import IMAGE_COPY
from ims_provider.model.image_share import IMAGE_SHARE, IMAGE_SHARE_ACCEPTER
from ims_provider.model.private_image import PRIVATE_IMAGE
from ims_provider.model.schema import APPLIED, ResourceSchema
from ims_provider.provider import (
    ImageCopyProvider,
    ImageShareAccepterProvider,
    ImageShareProvider,
    PrivateImageProvider,
)


class _PlainArgs:
    """Args dataclasses travel to the engine as plain dicts of the fields that are set."""

    def to_input(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}  # type: ignore[arg-type]


@dataclass
class DataImageArgs(_PlainArgs):
    """One data-disk image: from an ECS data disk (``name`` + ``volume_id``) or an OBS file
    (``image_url`` + ``min_disk``, on the ``image_url`` path)."""

    name: pulumi.Input[str] | None = None
    volume_id: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    image_tags: pulumi.Input[Any] | None = None
    image_url: pulumi.Input[str] | None = None
    min_disk: pulumi.Input[int] | None = None
    is_quick_import: pulumi.Input[bool] | None = None


@dataclass
class TimeoutsArgs(_PlainArgs):
    """How long each operation may take: durations such as "45m" or "1h30m", or a number of seconds."""

    create: pulumi.Input[str | float] | None = None
    update: pulumi.Input[str | float] | None = None
    delete: pulumi.Input[str | float] | None = None


@dataclass
class PrivateImageArgs:
    """Inputs of PrivateImage; names are those of ``POST /v2/cloudimages/action``. Set exactly one source:
    ``instance_id``, ``image_url``, ``volume_id``, or ``data_images`` alone (or ``existing_image_id``)."""

    name: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    instance_id: pulumi.Input[str] | None = None
    data_images: pulumi.Input[Sequence[pulumi.Input[DataImageArgs | Mapping[str, Any]]]] | None = None
    image_url: pulumi.Input[str] | None = None
    min_disk: pulumi.Input[int] | None = None
    os_version: pulumi.Input[str] | None = None
    os_type: pulumi.Input[str] | None = None
    is_config: pulumi.Input[bool] | None = None
    is_config_init: pulumi.Input[bool] | None = None
    is_quick_import: pulumi.Input[bool] | None = None
    cmk_id: pulumi.Input[str] | None = None
    volume_id: pulumi.Input[str] | None = None
    type: pulumi.Input[str] | None = None
    tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    image_tags: pulumi.Input[Mapping[str, pulumi.Input[str]] | Sequence[Any]] | None = None
    enterprise_project_id: pulumi.Input[str] | None = None
    min_ram: pulumi.Input[int] | None = None
    max_ram: pulumi.Input[int] | None = None
    architecture: pulumi.Input[str] | None = None
    hw_firmware_type: pulumi.Input[str] | None = None
    existing_image_id: pulumi.Input[str] | None = None
    timeouts: pulumi.Input[TimeoutsArgs | Mapping[str, Any]] | None = None


def _plain(value: Any) -> Any:
    """Args dataclasses become the plain dicts the engine serializes, also inside Outputs and lists."""
    if isinstance(value, pulumi.Output):
        return value.apply(_plain)
    if isinstance(value, _PlainArgs):
        return {k: _plain(v) for k, v in value.to_input().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _props(schema: ResourceSchema, args: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The props a dynamic resource registers: every input of the schema (None when unset: the engine then
    leaves it out) and every output (None: filled by the provider)."""
    given = {f.name: getattr(args, f.name) for f in fields(args)} if args is not None else {}
    unknown = sorted(set(kwargs) - set(schema.input_names))
    if unknown:
        raise TypeError(f"{schema.resource} got unexpected argument(s): {', '.join(unknown)}")
    given.update(kwargs)
    props: dict[str, Any] = {name: _plain(given.get(name)) for name in schema.input_names}
    for name in schema.output_names:
        props.setdefault(name, None)
    return props


def _options(schema: ResourceSchema, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """The inputs as last applied are what diff compares with: a secret input must stay secret in there.
    A resource whose model says so is replaced delete-first even when the engine forces the replacement
    (``--replace``), which the provider's diff never sees; the program may still say otherwise."""
    ours = pulumi.ResourceOptions(
        delete_before_replace=True if schema.replace_deletes_first else None,
    )
    merged = pulumi.ResourceOptions.merge(ours, opts)
    return pulumi.ResourceOptions.merge(merged, pulumi.ResourceOptions(additional_secret_outputs=[APPLIED]))


class PrivateImage(Resource, module="ims", name="PrivateImage"):
    """A Huawei Cloud IMS private image. Create blocks until the image is active; the ID is the system
    image's (or the first data image's when only data images are made)."""

    image_id: pulumi.Output[str]
    data_image_ids: pulumi.Output[list[str]]
    job_id: pulumi.Output[str | None]
    status: pulumi.Output[str]
    disk_format: pulumi.Output[str]
    image_size: pulumi.Output[int]
    visibility: pulumi.Output[str]
    created_at: pulumi.Output[str]
    updated_at: pulumi.Output[str]
    data_origin: pulumi.Output[str]
    image_type: pulumi.Output[str]
    applied_inputs: pulumi.Output[dict[str, Any]]
    name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    instance_id: pulumi.Output[str | None]
    data_images: pulumi.Output[list[dict[str, Any]] | None]
    image_url: pulumi.Output[str | None]
    min_disk: pulumi.Output[int]
    os_version: pulumi.Output[str]
    os_type: pulumi.Output[str]
    is_config: pulumi.Output[bool | None]
    is_config_init: pulumi.Output[bool | None]
    is_quick_import: pulumi.Output[bool | None]
    cmk_id: pulumi.Output[str | None]
    volume_id: pulumi.Output[str | None]
    type: pulumi.Output[str | None]
    tags: pulumi.Output[list[str] | None]
    image_tags: pulumi.Output[Any]
    enterprise_project_id: pulumi.Output[str | None]
    min_ram: pulumi.Output[int | None]
    max_ram: pulumi.Output[int | None]
    architecture: pulumi.Output[str | None]
    hw_firmware_type: pulumi.Output[str | None]
    existing_image_id: pulumi.Output[str | None]
    timeouts: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self,
        resource_name: str,
        args: PrivateImageArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = _props(PRIVATE_IMAGE, args, kwargs)
        super().__init__(PrivateImageProvider(), resource_name, props, _options(PRIVATE_IMAGE, opts))

    @staticmethod
    def get(
        resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> PrivateImage:
        """A read-only reference to an existing image, by ID (its outputs come from IMS)."""
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return PrivateImage(resource_name, None, merged)


# --- the golden-image pipeline ---------------------------------------------------------------------------


@dataclass
class ImageCopyArgs:
    """Inputs of ImageCopy. Absent ``target_region`` (or the provider's region) copies within the region;
    another region copies across, with ``agency_name`` (and ``vault_id`` for a full-ECS image)."""

    source_image_id: pulumi.Input[str] | None = None
    name: pulumi.Input[str] | None = None
    description: pulumi.Input[str] | None = None
    target_region: pulumi.Input[str] | None = None
    agency_name: pulumi.Input[str] | None = None
    vault_id: pulumi.Input[str] | None = None
    cmk_id: pulumi.Input[str] | None = None
    enterprise_project_id: pulumi.Input[str] | None = None
    min_ram: pulumi.Input[int] | None = None
    max_ram: pulumi.Input[int] | None = None
    tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    image_tags: pulumi.Input[Mapping[str, pulumi.Input[str]] | Sequence[Any]] | None = None
    timeouts: pulumi.Input[TimeoutsArgs | Mapping[str, Any]] | None = None


class ImageCopy(Resource, module="ims", name="ImageCopy"):
    """A copy of an image, in the provider's region or another; create blocks until the copy is active. Name,
    description, RAM bounds and tags change in place on the copy; anything else makes a new copy."""

    image_id: pulumi.Output[str]
    region: pulumi.Output[str]
    job_id: pulumi.Output[str | None]
    status: pulumi.Output[str]
    disk_format: pulumi.Output[str]
    image_size: pulumi.Output[int]
    visibility: pulumi.Output[str]
    created_at: pulumi.Output[str]
    updated_at: pulumi.Output[str]
    data_origin: pulumi.Output[str | None]
    image_type: pulumi.Output[str]
    os_version: pulumi.Output[str | None]
    os_type: pulumi.Output[str | None]
    min_disk: pulumi.Output[int]
    architecture: pulumi.Output[str | None]
    hw_firmware_type: pulumi.Output[str | None]
    applied_inputs: pulumi.Output[dict[str, Any]]
    source_image_id: pulumi.Output[str]
    name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    target_region: pulumi.Output[str | None]
    agency_name: pulumi.Output[str | None]
    vault_id: pulumi.Output[str | None]
    cmk_id: pulumi.Output[str | None]
    enterprise_project_id: pulumi.Output[str | None]
    min_ram: pulumi.Output[int | None]
    max_ram: pulumi.Output[int | None]
    tags: pulumi.Output[list[str] | None]
    image_tags: pulumi.Output[Any]
    timeouts: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self,
        resource_name: str,
        args: ImageCopyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = _props(IMAGE_COPY, args, kwargs)
        super().__init__(ImageCopyProvider(), resource_name, props, _options(IMAGE_COPY, opts))


@dataclass
class ImageShareArgs:
    """Inputs of ImageShare: the image, and the projects to share it with."""

    source_image_id: pulumi.Input[str] | None = None
    target_project_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    region: pulumi.Input[str] | None = None
    timeouts: pulumi.Input[TimeoutsArgs | Mapping[str, Any]] | None = None


class ImageShare(Resource, module="ims", name="ImageShare"):
    """An image shared with projects (its ID is the image's). Members are added on create, added and removed
    in place, removed on delete."""

    members: pulumi.Output[list[dict[str, str]]]
    region: pulumi.Output[str]
    applied_inputs: pulumi.Output[dict[str, Any]]
    source_image_id: pulumi.Output[str]
    target_project_ids: pulumi.Output[list[str]]
    timeouts: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self,
        resource_name: str,
        args: ImageShareArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = _props(IMAGE_SHARE, args, kwargs)
        super().__init__(ImageShareProvider(), resource_name, props, _options(IMAGE_SHARE, opts))


@dataclass
class ImageShareAccepterArgs:
    """Inputs of ImageShareAccepter: the shared image (and a CBR vault for a full-ECS image)."""

    image_id: pulumi.Input[str] | None = None
    vault_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    timeouts: pulumi.Input[TimeoutsArgs | Mapping[str, Any]] | None = None


class ImageShareAccepter(Resource, module="ims", name="ImageShareAccepter"):
    """The configured project, a member, accepts an image shared with it; delete rejects it again."""

    region: pulumi.Output[str]
    status: pulumi.Output[str]
    name: pulumi.Output[str]
    owner: pulumi.Output[str]
    image_status: pulumi.Output[str]
    disk_format: pulumi.Output[str]
    image_size: pulumi.Output[int]
    visibility: pulumi.Output[str]
    created_at: pulumi.Output[str]
    updated_at: pulumi.Output[str]
    data_origin: pulumi.Output[str | None]
    image_type: pulumi.Output[str]
    applied_inputs: pulumi.Output[dict[str, Any]]
    image_id: pulumi.Output[str]
    vault_id: pulumi.Output[str | None]
    timeouts: pulumi.Output[dict[str, Any] | None]

    def __init__(
        self,
        resource_name: str,
        args: ImageShareAccepterArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = _props(IMAGE_SHARE_ACCEPTER, args, kwargs)
        super().__init__(
            ImageShareAccepterProvider(), resource_name, props, _options(IMAGE_SHARE_ACCEPTER, opts)
        )
