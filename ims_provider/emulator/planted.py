"""Images the admin API plants: the kinds IMS's API cannot make in the emulator (public images, full-ECS
images from a backup, encrypted, ISO or large images), for lookups and for the copy and sharing rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ims_provider.emulator import osversions, validation
from ims_provider.emulator.accounts import derived_domain_id
from ims_provider.emulator.images import new_attrs

# Owner of the public (gold) images: a project of no account (IMS's public images belong to a Huawei project).
PUBLIC_OWNER = derived_domain_id("public-images")
FIELDS = frozenset(
    {
        "id", "name", "description", "os_version", "min_disk", "min_ram", "max_ram", "virtual_env_type",
        "public", "imagetype", "whole_image", "cmk_id", "tags", "architecture", "enterprise_project_id",
        "image_size", "attrs",
    }
)  # fmt: skip
ENVS = ("FusionCompute", "DataImage", "Ironic", "IsoImage")


@dataclass(frozen=True)
class Planted:
    id: str
    attrs: dict[str, Any]
    tags: Mapping[str, str]
    data_image: bool
    backup_type: str | None  # a full-ECS image: the kind of backup it was made from


def _int(spec: Mapping[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    value = spec.get(key, default)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        raise ValueError(f"{key} must be an integer between {low} and {high}")
    return value


def parse_planted(spec: Mapping[str, Any], owner: str) -> Planted:
    """An active image of `owner` (or a public one) from an admin spec; ValueError or ImsError when wrong."""
    unknown = sorted(set(spec) - FIELDS)
    if unknown:
        raise ValueError(f"unknown image field {unknown[0]!r}")
    env = spec.get("virtual_env_type", "FusionCompute")
    if env not in ENVS:
        raise ValueError(f"virtual_env_type must be one of {', '.join(ENVS)}")
    os_version = spec.get("os_version", None if env == "DataImage" else "CentOS 7.9 64bit")
    if os_version is not None and osversions.lookup(os_version) is None:
        raise ValueError(f"os_version {os_version!r} is not in the emulator's OS list")
    public = bool(spec.get("public", False))
    whole = spec.get("whole_image")
    if whole not in (None, "CBR", "CSBS"):
        raise ValueError('whole_image must be "CBR" or "CSBS" (the backup the image was made from)')
    architecture = spec.get("architecture")
    if architecture not in (None, *validation.ARCHITECTURES):
        raise ValueError("architecture must be x86 or arm")
    tags = spec.get("tags", {})
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise ValueError("tags must map keys to string values")
    extra = spec.get("attrs", {})
    if not isinstance(extra, Mapping):
        raise ValueError("attrs must be an object")
    attrs = new_attrs(
        name=validation.check_name(spec.get("name")),
        owner=PUBLIC_OWNER if public else owner,
        ep=validation.check_enterprise_project_id(spec.get("enterprise_project_id")),
        min_disk=_int(spec, "min_disk", 40, 1, 65536) or 40,
        env=env,
        origin="" if public else f"instance,{uuid.uuid4()}",
        os_version=os_version,
        disk_format="iso" if env == "IsoImage" else "zvhd2",
        description=validation.check_description(spec.get("description")),
        min_ram=validation.parse_ram(spec.get("min_ram"), "min_ram"),
        max_ram=validation.parse_ram(spec.get("max_ram"), "max_ram"),
    )
    if public:
        imagetype = spec.get("imagetype", "gold")
        if imagetype not in ("gold", "market"):
            raise ValueError("a public image's imagetype is gold or market")
        attrs.update({"visibility": "public", "__imagetype": imagetype, "protected": True})
    if whole is not None:
        attrs.update({"__whole_image": "true", "__backup_id": str(uuid.uuid4())})
    if spec.get("cmk_id"):
        attrs["__system__cmkid"] = str(spec["cmk_id"])
    if architecture == "arm":
        attrs.update({"__support_arm": "true", "hw_firmware_type": "uefi"})
    size = _int(spec, "image_size", None, 0, 2**62)
    if size is not None:
        attrs.update({"size": size, "__image_size": str(size)})
    attrs.update(extra)
    return Planted(
        id=str(spec.get("id") or uuid.uuid4()),
        attrs=attrs,
        tags=dict(tags),
        data_image=env == "DataImage",
        backup_type=whole,
    )
