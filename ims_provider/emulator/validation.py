"""Checks of create / update / tag requests, written from the seed spec and the wire reference.

This module deliberately shares nothing with the provider's request models: it is the independent check
of the client. Every function either returns cleaned values or raises `ImsError` with the IMS code the
real service uses for that mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ims_provider.emulator import osversions
from ims_provider.emulator.errors import ImsError, bad_request

NAME_RE = re.compile(r"^[A-Za-z0-9_\-. \u4e00-\u9fa5]+$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
OLD_TAG_RE = re.compile(r"^[A-Za-z0-9_\-]*$")
TAG_KEY_RE = re.compile(r"^[\w .:=+\-@]+$")
TAG_VALUE_RE = re.compile(r"^[\w .:=+\-@/]*$")
DIGITS_RE = re.compile(r"[0-9]{1,10}")
ID_MAX = 64
MAX_TAGS = 10
MAX_RAM_MB = 1024 * 1024
MAX_OBS_DATA_IMAGES = 3

COMMON_FIELDS = frozenset(
    {"name", "description", "tags", "image_tags", "enterprise_project_id", "max_ram", "min_ram"}
)
ECS_FIELDS = COMMON_FIELDS | {"instance_id", "data_images"}
OBS_FIELDS = COMMON_FIELDS | {
    "image_url",
    "min_disk",
    "os_type",
    "os_version",
    "is_config",
    "is_config_init",
    "cmk_id",
    "type",
    "is_quick_import",
    "architecture",
    "hw_firmware_type",
    "data_images",
}
VOLUME_FIELDS = COMMON_FIELDS | {"volume_id", "os_version", "type"}
ALL_FIELDS = ECS_FIELDS | OBS_FIELDS | VOLUME_FIELDS
ECS_DATA_ITEM_FIELDS = frozenset({"name", "volume_id", "description", "tags", "image_tags"})
OBS_DATA_ITEM_FIELDS = frozenset(
    {"name", "description", "image_url", "min_disk", "is_quick_import", "tags", "image_tags"}
)
IMAGE_TYPES = ("ECS", "BMS", "FusionCompute", "Ironic")
OBS_IMAGE_TYPES = (*IMAGE_TYPES, "IsoImage")
OS_TYPES = ("Linux", "Windows", "Other")
ARCHITECTURES = ("x86", "arm")
FIRMWARE_TYPES = ("bios", "uefi")

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ImageFields:
    """What the request says about one image (system or data)."""

    name: str
    description: str | None
    tags: Tags
    min_ram: int | None = None
    max_ram: int | None = None


@dataclass(frozen=True)
class DataItem:
    """One `data_images[]` entry: an ECS data disk (volume_id) or an OBS data file (image_url)."""

    fields: ImageFields
    volume_id: str | None = None
    image_url: str | None = None
    min_disk: int | None = None
    is_quick_import: bool = False


@dataclass(frozen=True)
class CreatePlan:
    """A structurally valid create request; the backend still checks it against its resources."""

    kind: str  # "ecs" | "data" | "obs" | "volume"
    system: ImageFields | None
    data: tuple[DataItem, ...]
    enterprise_project_id: str = "0"
    instance_id: str | None = None
    volume_id: str | None = None
    image_url: str | None = None
    min_disk: int | None = None
    os_version: str | None = None
    os_type: str | None = None
    image_type: str | None = None
    is_config: bool | None = None
    is_config_init: bool | None = None
    cmk_id: str | None = None
    is_quick_import: bool = False
    architecture: str | None = None
    hw_firmware_type: str | None = None


# ---------------------------------------------------------------- field helpers


def _get_str(obj: Mapping[str, Any], key: str, code: str = "IMG.0001") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(code, f"The parameter {key} must be a string.")
    return value


def _get_int(obj: Mapping[str, Any], key: str, code: str = "IMG.0001") -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(code, f"The parameter {key} must be an integer.")
    return value


def _get_bool(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_request("IMG.0001", f"The parameter {key} must be a boolean.")
    return value


def _reject_unknown(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise bad_request("IMG.0001", f"The parameter {unknown[0]} is not supported {where}.")


def request_object(body: object, allowed: frozenset[str], where: str = "by this API") -> Mapping[str, Any]:
    """A request body that must be a non-empty JSON object of known parameters (IMG.0007 / IMG.0001)."""
    if body is None or body == {}:
        raise bad_request("IMG.0007", "The request body is empty.")
    if not isinstance(body, dict):
        raise bad_request("IMG.0001", "The request body must be a JSON object.")
    _reject_unknown(body, allowed, where)
    return body


def check_name(value: object, field: str = "name") -> str:
    """1-128 characters: letters, digits, Chinese, `-`, `.`, `_`, space; no space at either end."""
    if value is None or value == "":
        raise bad_request("IMG.0013", f"The image {field} is not specified.")
    if not isinstance(value, str):
        raise bad_request("IMG.0003", f"The image {field} must be a string.")
    if len(value) > 128:
        raise bad_request("IMG.0002", f"The image {field} contains more than 128 characters.")
    if not NAME_RE.match(value) or value != value.strip(" "):
        raise bad_request("IMG.0003", f"The image {field} {value!r} is invalid.")
    return value


def check_description(value: object) -> str | None:
    """At most 1024 characters, no line breaks and no angle brackets."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("IMG.0054", "The image description must be a string.")
    if len(value) > 1024:
        raise bad_request("IMG.0004", "The image description contains more than 1024 characters.")
    if any(c in value for c in "\r\n<>"):
        raise bad_request("IMG.0054", "The image description contains invalid characters.")
    return value


def check_enterprise_project_id(value: object) -> str:
    if value is None:
        return "0"
    if not isinstance(value, str) or not (value == "0" or UUID_RE.match(value)):
        raise ImsError(400, "IMG.0154", "The enterprise project ID must be 0 or a UUID.")
    return value


def parse_ram(value: object, field: str) -> int | None:
    """min_ram/max_ram: a non-negative integer of MB; PATCH also sends it as a numeric string."""
    if value is None:
        return None
    if isinstance(value, str) and DIGITS_RE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RAM_MB:
        raise bad_request("IMG.0055", f"The {field} value is invalid.")
    return value


def check_ram_pair(min_ram: int | None, max_ram: int | None) -> None:
    if min_ram and max_ram and min_ram > max_ram:
        raise bad_request("IMG.0055", "min_ram must not be greater than max_ram.")


def check_tag_pair(key: object, value: object) -> tuple[str, str]:
    """A new-style `{key, value}` tag; key 1-36, value 0-43 characters; surrounding spaces trimmed."""
    if not isinstance(key, str) or not isinstance(value, str):
        raise bad_request("IMG.0115", "A tag needs a string key and a string value.")
    key, value = key.strip(), value.strip()
    if not key or len(key) > 36 or not TAG_KEY_RE.match(key):
        raise bad_request("IMG.0115", f"The tag key {key!r} is invalid.")
    if len(value) > 43 or not TAG_VALUE_RE.match(value):
        raise bad_request("IMG.0115", f"The tag value {value!r} is invalid.")
    return key, value


def _old_style_tag(tag: object) -> tuple[str, str]:
    if not isinstance(tag, str):
        raise bad_request("IMG.0115", "An entry of tags must be a string key.value.")
    key, _, value = tag.partition(".")
    if (
        not key
        or len(key) > 36
        or len(value) > 43
        or not OLD_TAG_RE.match(key)
        or not OLD_TAG_RE.match(value)
    ):
        raise bad_request("IMG.0115", f"The tag {tag!r} is invalid.")
    return key, value


def parse_create_tags(obj: Mapping[str, Any]) -> Tags:
    """`tags` (["key.value"]) or `image_tags` ([{key, value}]), never both; at most 10, unique keys."""
    tags, image_tags = obj.get("tags"), obj.get("image_tags")
    if tags is not None and image_tags is not None:
        raise bad_request("IMG.0001", "Use either tags or image_tags, not both.")
    pairs: list[tuple[str, str]] = []
    if tags is not None:
        if not isinstance(tags, list):
            raise bad_request("IMG.0115", "tags must be a list of strings.")
        pairs = [_old_style_tag(t) for t in tags]
    elif image_tags is not None:
        if not isinstance(image_tags, list):
            raise bad_request("IMG.0115", "image_tags must be a list of objects.")
        for item in image_tags:
            if not isinstance(item, dict) or set(item) - {"key", "value"} or "key" not in item:
                raise bad_request("IMG.0115", "An image_tags entry must be {key, value}.")
            pairs.append(check_tag_pair(item.get("key"), item.get("value", "")))
    if len(pairs) > MAX_TAGS:
        raise bad_request("IMG.0116", f"An image can have at most {MAX_TAGS} tags.")
    if len({k for k, _ in pairs}) != len(pairs):
        raise bad_request("IMG.0115", "Tag keys must be unique.")
    return tuple(pairs)


def _check_id(value: str | None, code: str, what: str) -> str | None:
    if value is not None and (not value or len(value) > ID_MAX or value != value.strip()):
        raise bad_request(code, f"The {what} {value!r} is invalid.")
    return value


def _check_os_version(value: str | None) -> str | None:
    if value is not None and osversions.lookup(value) is None:
        raise bad_request("IMG.0056", f"The OS version {value!r} is not supported in this region.")
    return value


def _image_fields(obj: Mapping[str, Any], *, with_ram: bool, name_required: bool = True) -> ImageFields:
    raw_name = obj.get("name")
    name = check_name(raw_name) if (name_required or raw_name is not None) else ""
    min_ram = parse_ram(obj.get("min_ram"), "min_ram") if with_ram else None
    max_ram = parse_ram(obj.get("max_ram"), "max_ram") if with_ram else None
    if with_ram:
        if isinstance(obj.get("min_ram"), str) or isinstance(obj.get("max_ram"), str):
            raise bad_request("IMG.0055", "min_ram and max_ram must be integers.")
        check_ram_pair(min_ram, max_ram)
    return ImageFields(
        name=name,
        description=check_description(obj.get("description")),
        tags=parse_create_tags(obj),
        min_ram=min_ram,
        max_ram=max_ram,
    )


# ---------------------------------------------------------------- create


def _kind(body: Mapping[str, Any]) -> str:
    sources = [k for k in ("instance_id", "image_url", "volume_id") if body.get(k) is not None]
    if len(sources) > 1:
        raise bad_request("IMG.0001", f"Specify only one image source, not {' and '.join(sources)}.")
    if sources:
        return {"instance_id": "ecs", "image_url": "obs", "volume_id": "volume"}[sources[0]]
    if body.get("data_images"):
        return "data"
    raise bad_request("IMG.0001", "Specify instance_id, image_url, volume_id or data_images.")


def validate_create(body: object) -> CreatePlan:
    """Validate a POST /v2/cloudimages/action body and return the plan it describes."""
    body = request_object(body, ALL_FIELDS)
    kind = _kind(body)
    allowed = {"ecs": ECS_FIELDS, "data": ECS_FIELDS, "obs": OBS_FIELDS, "volume": VOLUME_FIELDS}[kind]
    where = {
        "ecs": "when creating an image from an ECS",
        "data": "when creating data disk images",
        "obs": "when creating an image from an OBS file",
        "volume": "when creating a system disk image from a data disk",
    }[kind]
    _reject_unknown(body, allowed, where)
    ep = check_enterprise_project_id(body.get("enterprise_project_id"))
    if kind == "ecs":
        return _ecs_plan(body, ep)
    if kind == "data":
        _image_fields(body, with_ram=True, name_required=False)  # ignored by IMS, but must be well-formed
        items = _ecs_data_items(body.get("data_images"))
        return CreatePlan(kind="data", system=None, data=items, enterprise_project_id=ep)
    if kind == "obs":
        return _obs_plan(body, ep)
    return _volume_plan(body, ep)


def _ecs_plan(body: Mapping[str, Any], ep: str) -> CreatePlan:
    instance_id = _check_id(_get_str(body, "instance_id", "IMG.0012"), "IMG.0012", "ECS ID")
    system = _image_fields(body, with_ram=True)
    items = _ecs_data_items(body.get("data_images")) if body.get("data_images") is not None else ()
    return CreatePlan(
        kind="ecs", system=system, data=items, enterprise_project_id=ep, instance_id=instance_id
    )


def _ecs_data_items(raw: object) -> tuple[DataItem, ...]:
    if not isinstance(raw, list):
        raise bad_request("IMG.0001", "data_images must be a list.")
    items: list[DataItem] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise bad_request("IMG.0001", "A data_images entry must be an object.")
        _reject_unknown(entry, ECS_DATA_ITEM_FIELDS, "in a data_images entry of an ECS data disk")
        fields = _image_fields(entry, with_ram=False)
        volume_id = _check_id(_get_str(entry, "volume_id", "IMG.0120"), "IMG.0120", "data disk ID")
        if volume_id is None:
            raise bad_request("IMG.0120", "volume_id is required in every data_images entry.")
        items.append(DataItem(fields=fields, volume_id=volume_id))
    if len({i.volume_id for i in items}) != len(items):
        raise bad_request("IMG.0120", "The same data disk is listed twice in data_images.")
    return tuple(items)


def _check_image_url(value: str | None) -> str | None:
    if value is None:
        return None
    bucket, sep, key = value.partition(":")
    if not sep or not bucket or not key or len(value) > 1024:
        raise bad_request("IMG.0057", f"The image file URL {value!r} is not in the form bucket:object.")
    return value


def _obs_plan(body: Mapping[str, Any], ep: str) -> CreatePlan:
    system = _image_fields(body, with_ram=True)
    image_url = _check_image_url(_get_str(body, "image_url", "IMG.0057"))
    min_disk = _get_int(body, "min_disk", "IMG.0055")
    if min_disk is None:
        raise bad_request("IMG.0055", "min_disk is required when creating an image from an OBS file.")
    if not 40 <= min_disk <= 255:
        raise bad_request("IMG.0055", "min_disk must be between 40 and 255 GB.")
    os_version = _check_os_version(_get_str(body, "os_version", "IMG.0056"))
    os_type = _get_str(body, "os_type", "IMG.0122")
    if os_type is not None and os_type not in OS_TYPES:
        raise bad_request("IMG.0122", f"The OS type {os_type!r} is invalid.")
    found = osversions.lookup(os_version) if os_version else None
    if os_type is not None and found is not None and os_type not in (found.os_type, "Other"):
        raise bad_request("IMG.0122", f"The OS type {os_type} does not match the OS version {os_version}.")
    image_type = _get_str(body, "type", "IMG.0024")
    if image_type is not None and image_type not in OBS_IMAGE_TYPES:
        raise ImsError(400, "IMG.0024", f"The image type {image_type!r} is invalid.")
    architecture = _get_str(body, "architecture", "IMG.0212")
    if architecture is not None and architecture not in ARCHITECTURES:
        raise bad_request("IMG.0212", "The architecture must be x86 or arm.")
    firmware = _get_str(body, "hw_firmware_type", "IMG.0141")
    if firmware is not None and firmware not in FIRMWARE_TYPES:
        raise bad_request("IMG.0141", "hw_firmware_type must be bios or uefi.")
    if architecture == "arm" and firmware == "bios":
        raise bad_request("IMG.0141", "Arm images support only uefi boot.")
    cmk_id = _get_str(body, "cmk_id")
    if cmk_id is not None and (not cmk_id.strip() or len(cmk_id) > 255):
        raise bad_request("IMG.0095", "The KMS key ID is invalid.")
    quick = bool(_get_bool(body, "is_quick_import"))
    if quick and os_version is None:
        raise bad_request("IMG.0166", "os_version is required for a quick import.")
    if image_type == "IsoImage" and os_version is None:
        raise bad_request("IMG.0166", "os_version is required for an ISO file.")
    raw_items = body.get("data_images")
    items = _obs_data_items(raw_items, system.name) if raw_items is not None else ()
    return CreatePlan(
        kind="obs",
        system=system,
        data=items,
        enterprise_project_id=ep,
        image_url=image_url,
        min_disk=min_disk,
        os_version=os_version,
        os_type=os_type,
        image_type=image_type,
        is_config=_get_bool(body, "is_config"),
        is_config_init=_get_bool(body, "is_config_init"),
        cmk_id=cmk_id,
        is_quick_import=quick,
        architecture=architecture,
        hw_firmware_type=firmware,
    )


def _obs_data_items(raw: object, system_name: str) -> tuple[DataItem, ...]:
    if not isinstance(raw, list):
        raise bad_request("IMG.0001", "data_images must be a list.")
    if len(raw) > MAX_OBS_DATA_IMAGES:
        raise bad_request("IMG.0194", f"At most {MAX_OBS_DATA_IMAGES} data disk files can be imported.")
    items: list[DataItem] = []
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise bad_request("IMG.0001", "A data_images entry must be an object.")
        _reject_unknown(entry, OBS_DATA_ITEM_FIELDS, "in a data_images entry of an OBS file")
        if entry.get("name") is None:
            entry = {**entry, "name": f"{system_name[:120]}-data{index}"}
        fields = _image_fields(entry, with_ram=False)
        image_url = _check_image_url(_get_str(entry, "image_url", "IMG.0057"))
        if image_url is None:
            raise bad_request("IMG.0057", "image_url is required in every data_images entry.")
        min_disk = _get_int(entry, "min_disk", "IMG.0055")
        if min_disk is None or not 1 <= min_disk <= 2048:
            raise bad_request("IMG.0055", "min_disk of a data disk file must be between 1 and 2048 GB.")
        quick = bool(_get_bool(entry, "is_quick_import"))
        items.append(DataItem(fields=fields, image_url=image_url, min_disk=min_disk, is_quick_import=quick))
    urls = [i.image_url for i in items]
    if len(set(urls)) != len(urls):
        raise bad_request("IMG.0123", "The same image file URL is listed twice.")
    return tuple(items)


def _volume_plan(body: Mapping[str, Any], ep: str) -> CreatePlan:
    system = _image_fields(body, with_ram=True)
    volume_id = _check_id(_get_str(body, "volume_id", "IMG.0120"), "IMG.0120", "data disk ID")
    os_version = _get_str(body, "os_version", "IMG.0056")
    if os_version is None:
        raise bad_request("IMG.0056", "os_version is required when creating an image from a data disk.")
    _check_os_version(os_version)
    image_type = _get_str(body, "type", "IMG.0024")
    if image_type is not None and image_type not in IMAGE_TYPES:
        raise ImsError(400, "IMG.0024", f"The image type {image_type!r} is invalid.")
    return CreatePlan(
        kind="volume",
        system=system,
        data=(),
        enterprise_project_id=ep,
        volume_id=volume_id,
        os_version=os_version,
        image_type=image_type,
    )


# ---------------------------------------------------------------- tags API


def validate_tags_action(body: object) -> tuple[str, Tags]:
    """Body of POST .../tags/action: `{"action": "create"|"delete", "tags": [{key, value}]}`."""
    body = request_object(body, frozenset({"action", "tags"}), "by the tag API")
    action = body.get("action")
    if action not in ("create", "delete"):
        raise bad_request("IMG.0001", "action must be create or delete.")
    raw = body.get("tags")
    if not isinstance(raw, list) or not raw:
        raise bad_request("IMG.0115", "tags must be a non-empty list.")
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or "key" not in item or set(item) - {"key", "value"}:
            raise bad_request("IMG.0115", "A tag must be {key, value}.")
        if action == "create":
            if "value" not in item:
                raise bad_request("IMG.0115", "A tag to create needs a value (it may be empty).")
            pairs.append(check_tag_pair(item["key"], item["value"]))
        else:
            key, value = item["key"], item.get("value", "")
            if not isinstance(key, str) or not isinstance(value, str) or len(key) > 127 or len(value) > 255:
                raise bad_request("IMG.0115", "A tag to delete has an invalid key or value.")
            pairs.append((key.strip(), value.strip()))
    if len({k for k, _ in pairs}) != len(pairs):
        raise bad_request("IMG.0115", "Tag keys in one request must be unique.")
    return action, tuple(pairs)


# ---------------------------------------------------------------- update API

MUTABLE_FIXED = frozenset(
    {
        "name",
        "__description",
        "min_ram",
        "max_ram",
        "enterprise_project_id",
        "hw_firmware_type",
        "hw_vif_multiqueue_enabled",
        "__is_config_init",
        "__support_kvm",
        "__support_xen",
        "__support_largememory",
        "__support_diskintensive",
        "__support_highperformance",
        "__support_xen_gpu_type",
        "__support_kvm_gpu_type",
        "__support_xen_hana",
        "__support_kvm_infiniband",
        "__support_fc_inject",
        "__support_amd",
        "__support_kvm_hi1822_hisriov",
        "__support_kvm_hi1822_hivirtionet",
    }
)
CUSTOM_ATTR_RE = re.compile(r"^[a-z][a-z0-9_\-.:]{0,127}$")
BOOLEAN_STRINGS = ("true", "false")


@dataclass(frozen=True)
class PatchOp:
    op: str
    attr: str
    value: Any


def parse_patch(body: object, reserved: frozenset[str]) -> list[PatchOp]:
    """A JSON-patch list of `{op, path, value}`; `reserved` are the image keys that are never mutable."""
    if body is None:
        raise bad_request("IMG.0007", "The request body is empty.")
    if not isinstance(body, list) or not body:
        raise bad_request("IMG.0001", "The request body must be a non-empty JSON array of operations.")
    ops: list[PatchOp] = []
    for item in body:
        if not isinstance(item, dict) or set(item) - {"op", "path", "value"}:
            raise bad_request("IMG.0001", "An operation must be {op, path, value}.")
        op, path = item.get("op"), item.get("path")
        if op not in ("add", "replace", "remove"):
            raise bad_request("IMG.0001", "op must be add, replace or remove.")
        if not isinstance(path, str) or not path.startswith("/") or len(path) < 2:
            raise bad_request("IMG.0001", "path must be / followed by an attribute name.")
        attr = path[1:]
        if attr not in MUTABLE_FIXED and (attr in reserved or not CUSTOM_ATTR_RE.match(attr)):
            raise bad_request("IMG.0001", f"The attribute {attr} cannot be modified.")
        if op != "remove" and "value" not in item:
            raise bad_request("IMG.0001", f"The {op} operation on {attr} needs a value.")
        if op == "remove" and attr == "name":
            raise bad_request("IMG.0001", "The image name cannot be removed.")
        ops.append(PatchOp(op=op, attr=attr, value=item.get("value")))
    return ops


def patch_value(attr: str, value: object) -> Any:
    """The stored form of a PATCH value, or IMS's error for it."""
    if attr == "name":
        return check_name(value)
    if attr == "__description":
        return check_description(value) or ""
    if attr in ("min_ram", "max_ram"):
        ram = parse_ram(value, attr)
        if ram is None:
            raise bad_request("IMG.0055", f"The {attr} value is invalid.")
        return ram
    if attr == "enterprise_project_id":
        return check_enterprise_project_id(value)
    if attr == "hw_firmware_type":
        if value not in FIRMWARE_TYPES:
            raise bad_request("IMG.0141", "hw_firmware_type must be bios or uefi.")
        return value
    if attr.startswith("__is_") or (attr.startswith("__support_") and not attr.endswith("_type")):
        text = str(value).lower() if isinstance(value, (bool, str)) else None
        if text not in BOOLEAN_STRINGS:
            raise bad_request("IMG.0001", f"{attr} must be true or false.")
        return text
    if isinstance(value, (dict, list)) or value is None:
        raise bad_request("IMG.0001", f"The value of {attr} must be a string.")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if len(text) > 255:
        raise bad_request("IMG.0001", f"The value of {attr} is too long.")
    return text
