"""Tags in their three forms, compared as one thing: a mapping of key to value.

A program writes tags as ``tags`` ("key.value" strings, whose keys cannot hold a dot) or as ``image_tags``
(a mapping, or IMS's list of ``{key, value}``); IMS's tag API answers with ``{key, value}`` pairs. IMS's own
``tags`` attribute on an image lists "key.value" strings too, but a key written as ``image_tags`` may hold a
dot ("app.tier"), so that attribute is never parsed: live tags always come from the tag API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown

TAG_INPUTS = ("tags", "image_tags")


def tag_map(value: Any) -> dict[str, str]:
    """A tag input in either form (or tag-API pairs) as a mapping; IMS trims keys and values, so do we."""
    if value is None or isinstance(value, Unknown):
        return {}
    if isinstance(value, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    result: dict[str, str] = {}
    for item in value:
        if isinstance(item, str):
            key, _, val = item.partition(".")  # an old-style input: its key has no dot
            result[key.strip()] = val.strip()
        elif isinstance(item, Mapping):
            result[str(item.get("key", "")).strip()] = str(item.get("value", "")).strip()
    return result


def declared_tags(inputs: Mapping[str, Any]) -> dict[str, str] | None:
    """The tag set the inputs ask for (either form), or None when they leave tags alone."""
    for key in TAG_INPUTS:
        if inputs.get(key) is not None:
            return tag_map(inputs[key])
    return None


def in_program_form(inputs: Mapping[str, Any], live: Mapping[str, str]) -> tuple[str, Any]:
    """The live tags written the way the program writes its tags (input name, value), so refresh shows drift
    in the program's own terms. A live key that the "key.value" form cannot hold reads back differently,
    which is drift too: the program did not declare it."""
    if inputs.get("tags") is not None:
        return "tags", [f"{k}.{v}" for k, v in live.items()]
    if isinstance(inputs.get("image_tags"), list):
        return "image_tags", [{"key": k, "value": v} for k, v in live.items()]
    return "image_tags", dict(live)


def api_pairs(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The tag API's body form."""
    return [{"key": k, "value": v} for k, v in tags.items()]
