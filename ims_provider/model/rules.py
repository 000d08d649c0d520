"""The rules of single values: names, descriptions, IDs, sizes, tags, as IMS states them.

Each rule is a pydantic-annotated type, so a field declared with it (see :mod:`ims_provider.model.schema`)
is checked the same way wherever it appears: on a PrivateImage, a data_images entry or an image copy.
Messages say what is wrong and what is allowed; the property name is added by the caller.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

from ims_provider.durations import parse_duration

NAME_CHARS = re.compile(r"^[A-Za-z0-9\u4e00-\u9fa5._\- ]+$")
OLD_STYLE_TAG_PART = re.compile(r"^[A-Za-z0-9_\-]*$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Huawei Cloud tag characters: letters (any script), digits, space and _ . : = + - @ (values also /).
TAG_KEY_CHARS = re.compile(r"^[\w .:=+\-@]+$")
TAG_VALUE_CHARS = re.compile(r"^[\w .:=+\-@/]*$")
OBS_URL = re.compile(r"^[^:\s]+:[^\s].*$")
REGION_ID = re.compile(r"^[a-z]{2,3}(-[a-z0-9]+)+$")  # cn-north-4, ap-southeast-1, my-kualalumpur-1, ae-ad-1
PROJECT_ID = re.compile(r"^[0-9a-f]{32}$")

MAX_TAGS = 10
MAX_TAG_KEY = 36
MAX_TAG_VALUE = 43
MAX_ID_LENGTH = 64
MAX_RAM_MB = 1024 * 1024
# A data image keeps one of its 10 tag places for the ims-provider-claim tag (see recovery.py).
MAX_DATA_IMAGE_TAGS = MAX_TAGS - 1
TIMEOUT_KINDS = ("create", "update", "delete")


@dataclass(frozen=True)
class Failure:
    """One failed rule: the input property it concerns and a sentence saying what is wrong."""

    property: str
    reason: str


class RuleError(ValueError):
    """A rule across fields broken by one of them; the failure is reported against that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def whole(value: Any) -> int | None:
    """An integer from IMS or the engine (ints, integral doubles, numeric strings); None when absent or not
    a whole number. The one place a number read back from either side becomes an ``int``."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def _whole_number(value: Any) -> Any:
    """Accept ints and integral floats (the engine sends every number as a double); refuse bools and text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a whole number (got {_shown(value)})")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"must be a whole number (got {value})")
    return int(value)


def _shown(value: Any) -> str:
    """What a message says was given: a string (cut short), else only its type."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return type(value).__name__


def _strict_str(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"must be a string (got {_shown(value)})")
    return value


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (got {_shown(value)})")
    return value


def _image_name(value: str) -> str:
    if not 1 <= len(value) <= 128:
        raise ValueError(f"must be 1 to 128 characters long (got {len(value)})")
    if value != value.strip(" "):
        raise ValueError(f"must not start or end with a space (got {value!r})")
    if not NAME_CHARS.match(value):
        raise ValueError(
            f"may contain only letters, digits, Chinese characters, spaces, '-', '.' and '_' (got {value!r})"
        )
    return value


def _description(value: str) -> str:
    if len(value) > 1024:
        raise ValueError(f"must be at most 1024 characters long (got {len(value)})")
    if "\r" in value or "\n" in value:
        raise ValueError(f"must not contain a line break, carriage return or line feed (got {_shown(value)})")
    if "<" in value or ">" in value:
        raise ValueError(f"must not contain '<' or '>' (got {_shown(value)})")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError(f"must not be empty (got {_shown(value)})")
    return value


def _resource_id(value: str) -> str:
    _non_empty(value)
    if value != value.strip():
        raise ValueError(f"must not start or end with white space (got {value!r})")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"must be at most {MAX_ID_LENGTH} characters long (got {len(value)})")
    return value


def _obs_url(value: str) -> str:
    if not OBS_URL.match(value):
        raise ValueError(
            f"must be '<bucket>:<object>', for example 'ims-image:centos70.qcow2' (got {value!r})"
        )
    return value


def _region_id(value: str) -> str:
    if not REGION_ID.match(value):
        raise ValueError(f"must be a region ID such as 'cn-north-4' or 'ap-southeast-1' (got {value!r})")
    return value


def _project_id(value: str) -> str:
    if not PROJECT_ID.match(value):
        raise ValueError(f"must be a project ID: 32 lower-case hexadecimal characters (got {value!r})")
    return value


def _enterprise_project(value: str) -> str:
    if value != "0" and not UUID.match(value):
        raise ValueError(
            f'must be "0" (the default enterprise project) or an enterprise project UUID (got {value!r})'
        )
    return value


def ranged(low: int, high: int, unit: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} {unit} (got {value})")
        return value

    return check


def _old_style_tag(value: str) -> str:
    key, _, tag_value = value.partition(".")  # old-style keys cannot hold a dot, so the first one splits
    if not 1 <= len(key) <= MAX_TAG_KEY:
        raise ValueError(f"entry {value!r}: the key must be 1 to {MAX_TAG_KEY} characters long")
    if len(tag_value) > MAX_TAG_VALUE:
        raise ValueError(f"entry {value!r}: the value must be at most {MAX_TAG_VALUE} characters long")
    if not (OLD_STYLE_TAG_PART.match(key) and OLD_STYLE_TAG_PART.match(tag_value)):
        raise ValueError(
            f"entry {value!r} may contain only letters, digits, '_' and '-' around the '.' "
            '(for other characters use image_tags, e.g. {"app.tier": "web"})'
        )
    return value


def _tag_pairs(value: Any) -> Any:
    """``image_tags`` may be a mapping (``{"team": "web"}``) or the API's list of ``{key, value}``."""
    if isinstance(value, Mapping):
        return [{"key": k, "value": v} for k, v in value.items()]
    return value


def _duration(value: Any) -> Any:
    """A ``timeouts`` entry: a duration such as "45m" or a number of seconds (the engine sends doubles)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be a duration such as '45m', '1h30m' or 600 (seconds), got {_shown(value)}")
    return parse_duration(value)


Str = Annotated[str, BeforeValidator(_strict_str)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Flag = Annotated[bool, BeforeValidator(_strict_bool)]
ImageName = Annotated[Str, AfterValidator(_image_name)]
Description = Annotated[Str, AfterValidator(_description)]
NonEmpty = Annotated[Str, AfterValidator(_non_empty)]
ResourceId = Annotated[Str, AfterValidator(_resource_id)]
ObsUrl = Annotated[Str, AfterValidator(_obs_url)]
EnterpriseProjectId = Annotated[Str, AfterValidator(_enterprise_project)]
RegionId = Annotated[Str, AfterValidator(_region_id)]
ProjectId = Annotated[Str, AfterValidator(_project_id)]
RamMb = Annotated[WholeNumber, AfterValidator(ranged(0, MAX_RAM_MB, "MB"))]
OldStyleTag = Annotated[Str, AfterValidator(_old_style_tag)]
Seconds = Annotated[float, BeforeValidator(_duration)]
OsType = Literal["Linux", "Windows", "Other"]
Architecture = Literal["x86", "arm"]
FirmwareType = Literal["bios", "uefi"]


class TagPair(BaseModel):
    """One ``image_tags`` entry; IMS trims the key and value, so they are compared trimmed too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Str
    value: Str = ""

    @model_validator(mode="after")
    def _limits(self) -> TagPair:
        key = self.key.strip()
        value = self.value.strip()
        if not 1 <= len(key) <= MAX_TAG_KEY:
            raise RuleError("key", f"tag key {self.key!r} must be 1 to {MAX_TAG_KEY} characters long")
        if not TAG_KEY_CHARS.match(key):
            raise RuleError(
                "key", f"tag key {key!r} may contain only letters, digits, spaces and _ . : = + - @"
            )
        if len(value) > MAX_TAG_VALUE:
            raise RuleError("value", f"value of tag {key!r} must be at most {MAX_TAG_VALUE} characters long")
        if not TAG_VALUE_CHARS.match(value):
            message = f"value of tag {key!r} may contain only letters, digits, spaces and _ . : = + - @ /"
            raise RuleError("value", message)
        return self


ImageTags = Annotated[list[TagPair], BeforeValidator(_tag_pairs)]

TAG_FORMS = (
    'tags takes "key.value" strings (e.g. ["team.web"]); image_tags takes a mapping or a list of '
    '{key, value} (e.g. {"team": "web"} or [{"key": "team", "value": "web"}])'
)


class Timeouts(BaseModel):
    """How long each operation may take; a control input, never sent to IMS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    create: Seconds | None = None
    update: Seconds | None = None
    delete: Seconds | None = None


def seconds_of(given: Any, defaults: Mapping[str, float]) -> dict[str, float]:
    """Seconds for create, update and delete: ``defaults``, overridden by a ``timeouts`` input's valid
    entries (one that does not parse keeps its default; check has already said so)."""
    result = dict(defaults)
    if isinstance(given, Mapping):
        for key, value in given.items():
            try:
                parsed = Timeouts.model_validate({key: value})
            except ValueError:
                continue
            result.update({k: float(v) for k, v in parsed.model_dump(exclude_none=True).items()})
    return result


class TaggedRequest(BaseModel):
    """Any request with tags: unknown keys are errors, and the tag rules apply to whichever form is used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag_limit: ClassVar[int] = MAX_TAGS  # data images keep one place for the claim tag

    @model_validator(mode="after")
    def _tag_rules(self) -> TaggedRequest:
        tags: list[str] | None = getattr(self, "tags", None)
        pairs: list[TagPair] | None = getattr(self, "image_tags", None)
        if tags is not None and pairs is not None:
            raise RuleError("image_tags", f"set either tags or image_tags, not both: {TAG_FORMS}")
        field = "tags" if tags is not None else "image_tags"
        keys = [t.partition(".")[0] for t in tags or []] + [p.key.strip() for p in pairs or []]
        if len(keys) > MAX_TAGS:
            raise RuleError(field, f"an image may have at most {MAX_TAGS} tags (got {len(keys)})")
        if len(keys) > self.tag_limit:
            message = (
                f"a data image may have at most {self.tag_limit} tags here (got {len(keys)}): IMS allows "
                f"{MAX_TAGS} and ims-provider keeps one to mark the images it tracks"
            )
            raise RuleError(field, message)
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise RuleError(field, f"tag keys must be unique; repeated: {', '.join(duplicates)}")
        return self


class RamBounds(TaggedRequest):
    """RAM bounds in MB; 0 means "not restricted", so only two non-zero bounds are compared."""

    @model_validator(mode="after")
    def _ram_order(self) -> RamBounds:
        low: int | None = getattr(self, "min_ram", None)
        high: int | None = getattr(self, "max_ram", None)
        if low and high and low > high:
            raise RuleError("min_ram", f"min_ram ({low} MB) must not exceed max_ram ({high} MB)")
        return self
