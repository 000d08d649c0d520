"""What PrivateImage keeps in Pulumi state, and how inputs are compared.

The Python dynamic host hands ``diff``, ``update`` and ``read`` only the old *outputs*, never the old
inputs. So the outputs echo every input (under its own name) plus ``input_keys``, the names the user
actually set: that is what tells an input ``min_disk`` apart from the live ``min_disk`` every image has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.output import Unknown

# Inputs in the order the README documents them.
INPUT_NAMES: tuple[str, ...] = (
    "name",
    "description",
    "instance_id",
    "data_images",
    "image_url",
    "min_disk",
    "os_version",
    "os_type",
    "is_config",
    "is_config_init",
    "is_quick_import",
    "cmk_id",
    "volume_id",
    "type",
    "tags",
    "image_tags",
    "enterprise_project_id",
    "min_ram",
    "max_ram",
    "architecture",
    "hw_firmware_type",
    "existing_image_id",
    "timeouts",
)

# Changed in place (PATCH /v2/cloudimages/{id} and the tag API).
UPDATABLE = ("name", "description", "min_ram", "max_ram", "tags", "image_tags")
# Never sent to IMS: a change to them alone calls no API.
IGNORED_IN_DIFF = frozenset({"timeouts", "__provider"})
# Everything else that is an input forces a new image.
REPLACE_ON_CHANGE = tuple(n for n in INPUT_NAMES if n not in UPDATABLE and n not in IGNORED_IN_DIFF)

OUTPUT_NAMES: tuple[str, ...] = (
    "image_id",
    "data_image_ids",
    "job_id",
    "status",
    "disk_format",
    "image_size",
    "visibility",
    "created_at",
    "updated_at",
    "data_origin",
    "image_type",
    "input_keys",
)


def user_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own inputs, without engine keys and unset values."""
    return {k: v for k, v in props.items() if k in INPUT_NAMES and v is not None}


def input_keys_of(props: Mapping[str, Any]) -> list[str]:
    """Which inputs the user set, from state written by ``outputs_for`` (or from plain inputs)."""
    keys = props.get("input_keys")
    if isinstance(keys, list):
        return [str(k) for k in keys]
    return [k for k in INPUT_NAMES if props.get(k) is not None]


def old_inputs(olds: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as they stand in state (refreshed by ``read`` where IMS can tell)."""
    keys = input_keys_of(olds)
    return {k: olds[k] for k in keys if k in olds and olds[k] is not None}


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def tag_map(value: Any) -> dict[str, str]:
    """``tags`` ("key.value" strings), ``image_tags`` (mapping or list of pairs) or the API's pairs."""
    if value is None or isinstance(value, Unknown):
        return {}
    if isinstance(value, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    result: dict[str, str] = {}
    for item in value:
        if isinstance(item, str):
            key, _, val = item.partition(".")
            result[key] = val
        elif isinstance(item, Mapping):
            result[str(item.get("key", "")).strip()] = str(item.get("value", "")).strip()
    return result


def normalize(key: str, value: Any) -> Any:
    """A comparable form: engine doubles as ints, tags as mappings (order never matters to IMS)."""
    if isinstance(value, Unknown):
        return value
    if key in ("tags", "image_tags"):
        return tag_map(value) or None
    if key in ("data_images", "timeouts") and value is not None:
        return _normalize_nested(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "" and key == "description":
        return None
    return value


def _normalize_nested(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: (tag_map(v) if k in ("tags", "image_tags") else _normalize_nested(v))
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [_normalize_nested(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def live_tags_in_input_form(inputs: Mapping[str, Any], live: Mapping[str, str]) -> tuple[str, Any]:
    """Express the live tags the way the user wrote them, so a refresh shows honest drift."""
    if "tags" in inputs and inputs["tags"] is not None:
        return "tags", [f"{k}.{v}" for k, v in live.items()]
    given = inputs.get("image_tags")
    if isinstance(given, list):
        return "image_tags", [{"key": k, "value": v} for k, v in live.items()]
    return "image_tags", dict(live)


def outputs_for(
    inputs: Mapping[str, Any],
    image: Mapping[str, Any],
    *,
    job_id: str | None,
    data_image_ids: Sequence[str],
    live_tags: Mapping[str, str] | None,
) -> dict[str, Any]:
    """State after create, update or read: the echoed inputs, refreshed where IMS is the truth."""
    given = user_inputs(inputs)
    outputs: dict[str, Any] = dict(given)
    outputs["input_keys"] = [k for k in INPUT_NAMES if k in given]
    outputs["image_id"] = image.get("id")
    outputs["data_image_ids"] = list(data_image_ids)
    outputs["job_id"] = job_id
    outputs["status"] = image.get("status")
    outputs["disk_format"] = image.get("disk_format")
    outputs["image_size"] = _int(image.get("__image_size")) or _int(image.get("size"))
    outputs["visibility"] = image.get("visibility")
    outputs["created_at"] = image.get("created_at")
    outputs["updated_at"] = image.get("updated_at")
    outputs["data_origin"] = image.get("__data_origin")
    outputs["image_type"] = image.get("virtual_env_type")
    # Creation-only inputs keep the value the user gave (IMS may report a detected OS instead);
    # without one, the live value is the output.
    for key, live_key in (("min_disk", "min_disk"), ("os_version", "__os_version"), ("os_type", "__os_type")):
        if key not in given:
            live_value = image.get(live_key)
            outputs[key] = _int(live_value) if key == "min_disk" else live_value
    # Mutable attributes: IMS is the truth (so refresh reveals changes made outside Pulumi).
    if image.get("name") is not None and "name" in given:
        outputs["name"] = image["name"]
    description = image.get("__description")
    if "description" in given or description:
        outputs["description"] = description or None
    for key in ("min_ram", "max_ram"):
        live_value = _int(image.get(key))
        if key in given or live_value:
            outputs[key] = live_value
    if live_tags is not None and (live_tags or "tags" in given or "image_tags" in given):
        key, value = live_tags_in_input_form(given, live_tags)
        outputs[key] = value
    return {k: v for k, v in outputs.items() if v is not None}


def refreshed_inputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a refresh writes back: what the user set, with mutable values as IMS now has them."""
    keys = set(input_keys_of(outputs)) | {k for k in UPDATABLE if outputs.get(k) is not None}
    return {k: outputs[k] for k in INPUT_NAMES if k in keys and outputs.get(k) is not None}
