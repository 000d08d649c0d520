"""What PrivateImage keeps in Pulumi state, and how inputs are compared.

The Python dynamic host hands ``diff``, ``update`` and ``read`` only the old *outputs*, never the old
inputs. So the outputs echo every input (under its own name) plus ``input_keys``, the names the user
actually set: that is what tells an input ``min_disk`` apart from the live ``min_disk`` every image has.
Mutable attributes (name, description, RAM bounds, tags) are always written from the live image, so a
refresh that saw a change made outside Pulumi leaves it in the outputs, where the next diff finds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
TAG_INPUTS = ("tags", "image_tags")
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


def declared_tags(inputs: Mapping[str, Any]) -> dict[str, str] | None:
    """The tag set the inputs ask for (either form), or None when they leave tags alone."""
    for key in TAG_INPUTS:
        if inputs.get(key) is not None:
            return tag_map(inputs[key])
    return None


def normalize(key: str, value: Any) -> Any:
    """A comparable form: engine doubles as ints, tags as mappings (order never matters to IMS)."""
    if isinstance(value, Unknown):
        return value
    if key in TAG_INPUTS:
        return tag_map(value) if value is not None else None
    if key in ("data_images", "timeouts") and value is not None:
        return _normalize_nested(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "" and key == "description":
        return None
    if value == "0" and key == "enterprise_project_id":
        return None  # "0" is the default enterprise project, the same as leaving it out
    return value


def _normalize_nested(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: (tag_map(v) if k in TAG_INPUTS else _normalize_nested(v))
            for k, v in value.items()
            if v is not None and not (k == "description" and v == "")
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


def _without_tags(item: Any) -> Any:
    if isinstance(item, Mapping):
        return {k: v for k, v in item.items() if k not in TAG_INPUTS}
    return item


def only_item_tags_differ(old: Any, new: Any) -> bool:
    """True when two ``data_images`` lists name the same disks and differ only in their tags: IMS can retag
    a data image in place, but cannot rename or re-describe it (PATCH on a data image is IMG.0168)."""
    if not isinstance(old, list) or not isinstance(new, list) or len(old) != len(new):
        return False
    stripped_new = [_without_tags(item) for item in new]
    if contains_unknown(stripped_new):
        return False
    before = normalize("data_images", [_without_tags(i) for i in old])
    return bool(before == normalize("data_images", stripped_new))


@dataclass(frozen=True)
class InputDiff:
    """The inputs that differ (``changed``) and those of them that need a new image (``replaces``)."""

    changed: list[str]
    replaces: list[str]


def diff_inputs(old: Mapping[str, Any], new: Mapping[str, Any], image_id: str | None = None) -> InputDiff:
    """Compare real inputs only (never ``__provider`` or ``timeouts``), as IMS would see them.

    An unknown value (a preview of a value another resource computes) counts as a change: an update when
    the input is updatable, a replacement otherwise. ``tags`` and ``image_tags`` are compared by content,
    so a mapping and a list of pairs with the same tags are equal; moving the tags from one input to the
    other is an update that writes nothing to IMS but keeps the outputs in the program's form.
    """
    changed = [
        key
        for key in INPUT_NAMES
        if key not in IGNORED_IN_DIFF
        and (contains_unknown(new.get(key)) or normalize(key, old.get(key)) != normalize(key, new.get(key)))
    ]
    replaces = [key for key in changed if key in REPLACE_ON_CHANGE]
    if "data_images" in replaces and only_item_tags_differ(old.get("data_images"), new.get("data_images")):
        replaces.remove("data_images")
    if image_id and new.get("existing_image_id") == image_id:
        # The program now names this very image: a "replacement" would adopt it and then delete it.
        replaces = []
    return InputDiff(changed, replaces)


def live_tags_in_input_form(inputs: Mapping[str, Any], live: Mapping[str, str]) -> tuple[str, Any]:
    """Express the live tags the way the user wrote them, so a refresh shows honest drift."""
    if inputs.get("tags") is not None:
        return "tags", [f"{k}.{v}" for k, v in live.items()]
    given = inputs.get("image_tags")
    if isinstance(given, list):
        return "image_tags", [{"key": k, "value": v} for k, v in live.items()]
    return "image_tags", dict(live)


def with_live_tags(item: Mapping[str, Any], live: Mapping[str, str]) -> dict[str, Any]:
    """A ``data_images`` entry with its tags replaced by the data image's live tags (same form)."""
    key, value = live_tags_in_input_form(item, live)
    return {**{k: v for k, v in item.items() if k not in TAG_INPUTS}, key: value}


def outputs_for(
    inputs: Mapping[str, Any],
    image: Mapping[str, Any],
    *,
    job_id: str | None,
    data_image_ids: Sequence[str],
    live_tags: Mapping[str, str] | None,
    data_images: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """State after create, update or read: the echoed inputs, refreshed where IMS is the truth.

    ``data_images``, when given, replaces the echoed entries (read passes them with live tags, and without
    the entries whose data image is gone, so the next diff shows the loss).
    """
    given = user_inputs(inputs)
    outputs: dict[str, Any] = dict(given)
    if data_images is not None and "data_images" in given:
        outputs["data_images"] = [dict(item) for item in data_images]
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
    # Mutable attributes: IMS is the truth, whether or not the program sets them (``get`` shows them all;
    # ``input_keys`` keeps the ones the program does not set out of the diff).
    outputs["name"] = image.get("name")
    outputs["description"] = image.get("__description") or None
    outputs["min_ram"] = _int(image.get("min_ram"))
    outputs["max_ram"] = _int(image.get("max_ram"))
    if live_tags is not None:
        for key in TAG_INPUTS:
            outputs.pop(key, None)
        key, value = live_tags_in_input_form(given, live_tags)
        outputs[key] = value
    return {k: v for k, v in outputs.items() if v is not None}


def refreshed_inputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a refresh writes back: what the user set, with mutable values as IMS now has them.

    Attributes the program does not set stay out, so refresh never invents inputs; one the program sets
    but IMS no longer has (a description removed in the console) is left out too, which is the drift.
    """
    keys = set(input_keys_of(outputs))
    return {k: outputs[k] for k in INPUT_NAMES if k in keys and outputs.get(k) is not None}
