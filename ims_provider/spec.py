"""Create-request models: one pydantic model per path of ``POST /v2/cloudimages/action``.

The seed page (the API contract) defines four request shapes. Each shape's fields and rules are declared
here once; ``check_inputs`` runs them before any API call, and ``build_body`` turns checked inputs into the
exact JSON body IMS receives. Values still unknown during a preview are left out of validation (a rule that
needs them is skipped) but count as present, so a source given as ``server.id`` still selects its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, TypeAlias

from pulumi.output import Unknown
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ims_provider.durations import parse_duration

# --- field rules -------------------------------------------------------------------------------------

_NAME_CHARS = re.compile(r"^[A-Za-z0-9\u4e00-\u9fa5._\- ]+$")
_OLD_TAG_PART = re.compile(r"^[A-Za-z0-9_\-]*$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Huawei Cloud tag characters: letters (any script), digits, space and _ . : = + - @ (values also /).
_TAG_KEY_CHARS = re.compile(r"^[\w .:=+\-@]+$")
_TAG_VALUE_CHARS = re.compile(r"^[\w .:=+\-@/]*$")
_OBS_URL = re.compile(r"^[^:\s]+:[^\s].*$")

MAX_TAGS = 10
MAX_TAG_KEY = 36
MAX_TAG_VALUE = 43
MAX_OBS_DATA_IMAGES = 3
# A data image keeps one of its 10 tag places for the ims-provider-claim tag (see recovery.py).
MAX_DATA_IMAGE_TAGS = MAX_TAGS - 1
MAX_ID_LENGTH = 64
MAX_RAM_MB = 1024 * 1024


def _whole_number(value: Any) -> Any:
    """Accept ints and integral floats (the engine sends every number as a double); refuse bools and text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number (got {value})")
        return int(value)
    return value


def _strict_str(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _strict_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _image_name(value: str) -> str:
    if not 1 <= len(value) <= 128:
        raise ValueError(f"must be 1 to 128 characters long (got {len(value)})")
    if value != value.strip(" "):
        raise ValueError("must not start or end with a space")
    if not _NAME_CHARS.match(value):
        raise ValueError("may contain only letters, digits, Chinese characters, spaces, '-', '.' and '_'")
    return value


def _description(value: str) -> str:
    if len(value) > 1024:
        raise ValueError(f"must be at most 1024 characters long (got {len(value)})")
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain a line break (carriage return or line feed)")
    if "<" in value or ">" in value:
        raise ValueError("must not contain '<' or '>'")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _resource_id(value: str) -> str:
    _non_empty(value)
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"must be at most {MAX_ID_LENGTH} characters long (got {len(value)})")
    return value


def _obs_url(value: str) -> str:
    if not _OBS_URL.match(value):
        raise ValueError("must be '<bucket>:<object>', for example 'ims-image:centos70.qcow2'")
    return value


def _enterprise_project(value: str) -> str:
    if value != "0" and not _UUID.match(value):
        raise ValueError('must be "0" (the default enterprise project) or an enterprise project UUID')
    return value


def _ranged(low: int, high: int, unit: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} {unit} (got {value})")
        return value

    return check


def _ram_mb(value: int) -> int:
    if not 0 <= value <= MAX_RAM_MB:
        raise ValueError(f"must be between 0 and {MAX_RAM_MB} MB (got {value})")
    return value


def _old_style_tag(value: str) -> str:
    key, _, tag_value = value.partition(".")  # "key" alone is a tag with an empty value
    if not 1 <= len(key) <= MAX_TAG_KEY:
        raise ValueError(f"entry '{value}': the key must be 1 to {MAX_TAG_KEY} characters long")
    if len(tag_value) > MAX_TAG_VALUE:
        raise ValueError(f"entry '{value}': the value must be at most {MAX_TAG_VALUE} characters long")
    if not (_OLD_TAG_PART.match(key) and _OLD_TAG_PART.match(tag_value)):
        raise ValueError(f"entry '{value}' may contain only letters, digits, '_' and '-' around the '.'")
    return value


def _tag_pairs(value: Any) -> Any:
    """``image_tags`` may be a mapping (``{"team": "web"}``) or the API's list of ``{key, value}``."""
    if isinstance(value, Mapping):
        return [{"key": k, "value": v} for k, v in value.items()]
    return value


Str = Annotated[str, BeforeValidator(_strict_str)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Flag = Annotated[bool, BeforeValidator(_strict_bool)]
ImageName = Annotated[Str, AfterValidator(_image_name)]
Description = Annotated[Str, AfterValidator(_description)]
ResourceId = Annotated[Str, AfterValidator(_resource_id)]
ObsUrl = Annotated[Str, AfterValidator(_obs_url)]
EnterpriseProjectId = Annotated[Str, AfterValidator(_enterprise_project)]
RamMb = Annotated[WholeNumber, AfterValidator(_ram_mb)]
SystemDiskFromFileGb = Annotated[WholeNumber, AfterValidator(_ranged(40, 255, "GB"))]
DataDiskFromFileGb = Annotated[WholeNumber, AfterValidator(_ranged(1, 2048, "GB"))]
OldStyleTag = Annotated[Str, AfterValidator(_old_style_tag)]
OsType = Literal["Linux", "Windows", "Other"]
ImageType = Literal["ECS", "BMS", "FusionCompute", "Ironic"]
Architecture = Literal["x86", "arm"]
FirmwareType = Literal["bios", "uefi"]


class RuleError(ValueError):
    """A model-level rule broken by one field; the failure is reported against that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TagPair(BaseModel):
    """One ``image_tags`` entry; IMS trims the key and value, so we compare them trimmed too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Str
    value: Str = ""

    @model_validator(mode="after")
    def _limits(self) -> TagPair:
        key = self.key.strip()
        value = self.value.strip()
        if not 1 <= len(key) <= MAX_TAG_KEY:
            raise RuleError("key", f"tag key '{self.key}' must be 1 to {MAX_TAG_KEY} characters long")
        if not _TAG_KEY_CHARS.match(key):
            raise RuleError(
                "key", f"tag key '{key}' may contain only letters, digits, spaces and _ . : = + - @"
            )
        if len(value) > MAX_TAG_VALUE:
            raise RuleError("value", f"value of tag '{key}' must be at most {MAX_TAG_VALUE} characters long")
        if not _TAG_VALUE_CHARS.match(value):
            message = f"value of tag '{key}' may contain only letters, digits, spaces and _ . : = + - @ /"
            raise RuleError("value", message)
        return self


ImageTags = Annotated[list[TagPair], BeforeValidator(_tag_pairs)]


class _Request(BaseModel):
    """Common behaviour: unknown keys are errors, tag rules apply to whichever tag form is used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: list[OldStyleTag] | None = None
    image_tags: ImageTags | None = None

    @model_validator(mode="after")
    def _tag_rules(self) -> _Request:
        if self.tags is not None and self.image_tags is not None:
            raise RuleError("image_tags", "use either tags or image_tags, not both")
        field = "tags" if self.tags is not None else "image_tags"
        keys = [t.partition(".")[0] for t in self.tags or []] + [p.key.strip() for p in self.image_tags or []]
        if len(keys) > MAX_TAGS:
            raise RuleError(field, f"an image may have at most {MAX_TAGS} tags (got {len(keys)})")
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise RuleError(field, f"tag keys must be unique; repeated: {', '.join(duplicates)}")
        return self


class _Ram(_Request):
    """RAM bounds in MB; 0 means "not restricted", so only two non-zero bounds are compared."""

    min_ram: RamMb | None = None
    max_ram: RamMb | None = None

    @model_validator(mode="after")
    def _ram_order(self) -> _Ram:
        if self.min_ram and self.max_ram and self.min_ram > self.max_ram:
            raise RuleError(
                "min_ram", f"min_ram ({self.min_ram} MB) must not exceed max_ram ({self.max_ram} MB)"
            )
        return self


class _RamBounds(_Ram):
    enterprise_project_id: EnterpriseProjectId | None = None


class _DataImageTags(_Request):
    """A data image's own tags: one place fewer, as the provider marks tracked data images with a tag."""

    @model_validator(mode="after")
    def _claim_place(self) -> _DataImageTags:
        count = len(self.tags or []) + len(self.image_tags or [])
        if count > MAX_DATA_IMAGE_TAGS:
            field = "tags" if self.tags is not None else "image_tags"
            message = (
                f"a data image may have at most {MAX_DATA_IMAGE_TAGS} tags here (got {count}): IMS allows 10 "
                "and ims-provider keeps one to mark the images it tracks"
            )
            raise RuleError(field, message)
        return self


class DataImageFromVolume(_DataImageTags):
    """A ``data_images`` entry that turns an ECS data disk into a data-disk image (seed Table 1)."""

    name: ImageName
    volume_id: ResourceId
    description: Description | None = None


class DataImageFromFile(_DataImageTags):
    """A ``data_images`` entry that imports a data-disk file from OBS (seed Table 2)."""

    name: ImageName | None = None
    description: Description | None = None
    image_url: ObsUrl
    min_disk: DataDiskFromFileGb
    is_quick_import: Flag | None = None


class EcsImageRequest(_RamBounds):
    """System image of an ECS, optionally with data-disk images of the same ECS."""

    name: ImageName
    description: Description | None = None
    instance_id: ResourceId
    data_images: list[DataImageFromVolume] | None = None


class ObsImageRequest(_RamBounds):
    """System image imported from an image file in an OBS bucket, with up to 3 data-disk files."""

    name: ImageName
    description: Description | None = None
    image_url: ObsUrl
    min_disk: SystemDiskFromFileGb
    os_type: OsType | None = None
    os_version: Annotated[Str, AfterValidator(_non_empty)] | None = None
    is_config: Flag | None = None
    is_config_init: Flag | None = None
    is_quick_import: Flag | None = None
    cmk_id: ResourceId | None = None
    type: ImageType | None = None
    architecture: Architecture | None = None
    hw_firmware_type: FirmwareType | None = None
    data_images: Annotated[list[DataImageFromFile], Field(max_length=MAX_OBS_DATA_IMAGES)] | None = None

    @model_validator(mode="after")
    def _os_version_needed(self) -> ObsImageRequest:
        if self.os_version is None:
            if self.is_quick_import:
                raise RuleError("os_version", "os_version is required when is_quick_import is true")
            if self.image_url.lower().endswith(".iso"):
                raise RuleError("os_version", "os_version is required for an ISO image file")
        if self.architecture == "arm" and self.hw_firmware_type == "bios":
            raise RuleError(
                "hw_firmware_type",
                "an arm image boots with uefi: set hw_firmware_type to uefi or leave it out",
            )
        return self


class VolumeImageRequest(_RamBounds):
    """System-disk image made from a data disk that holds an operating system."""

    name: ImageName
    description: Description | None = None
    volume_id: ResourceId
    os_version: Annotated[Str, AfterValidator(_non_empty)]
    type: ImageType | None = None


class DataImagesRequest(BaseModel):
    """Data-disk images of an ECS's data disks, with no system image (no ``instance_id``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_images: Annotated[list[DataImageFromVolume], Field(min_length=1)]
    enterprise_project_id: EnterpriseProjectId | None = None


class AdoptRequest(_Ram):
    """An existing image taken under management: only the attributes IMS lets us change apply."""

    name: ImageName | None = None
    description: Description | None = None


CreateRequest: TypeAlias = EcsImageRequest | ObsImageRequest | VolumeImageRequest | DataImagesRequest

# --- dispatch -------------------------------------------------------------------------------------


class Source(str, Enum):
    """Which create path a resource takes; decided by the one source input that is set."""

    ECS = "instance_id"
    OBS = "image_url"
    VOLUME = "volume_id"
    DATA_VOLUMES = "data_images"
    EXISTING = "existing_image_id"


MODELS: dict[Source, type[BaseModel]] = {
    Source.ECS: EcsImageRequest,
    Source.OBS: ObsImageRequest,
    Source.VOLUME: VolumeImageRequest,
    Source.DATA_VOLUMES: DataImagesRequest,
    Source.EXISTING: AdoptRequest,
}

ITEM_MODELS: dict[Source, type[BaseModel]] = {
    Source.ECS: DataImageFromVolume,
    Source.OBS: DataImageFromFile,
    Source.DATA_VOLUMES: DataImageFromVolume,
}

DESCRIBE: dict[Source, str] = {
    Source.ECS: "an ECS (instance_id)",
    Source.OBS: "an OBS image file (image_url)",
    Source.VOLUME: "a data disk (volume_id)",
    Source.DATA_VOLUMES: "ECS data disks (data_images alone)",
    Source.EXISTING: "an existing image (existing_image_id)",
}

# Inputs that steer the provider rather than the request body.
CONTROL_INPUTS = frozenset({"timeouts", "existing_image_id"})
TIMEOUT_KINDS = ("create", "update", "delete")
DEFAULT_TIMEOUTS: dict[str, float] = {"create": 3600.0, "update": 600.0, "delete": 600.0}


@dataclass(frozen=True)
class Failure:
    """One failed rule: the input property it concerns and a sentence saying what is wrong."""

    property: str
    reason: str


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def _present(inputs: Mapping[str, Any], key: str) -> bool:
    """Set, or still unknown in a preview (an unknown source still selects its path)."""
    return inputs.get(key) is not None


def detect_source(inputs: Mapping[str, Any]) -> tuple[Source | None, list[Failure]]:
    """Pick the one create path the inputs describe, or explain why there is not exactly one."""
    sources = [s for s in (Source.ECS, Source.OBS, Source.VOLUME) if _present(inputs, s.value)]
    if len(sources) > 1:
        names = ", ".join(s.value for s in sources)
        reason = f"set exactly one image source; {names} were all given"
        return None, [Failure(s.value, reason) for s in sources]
    adopting = _present(inputs, Source.EXISTING.value)
    if adopting and (sources or _present(inputs, "data_images")):
        given = [s.value for s in sources] or ["data_images"]
        reason = (
            f"existing_image_id adopts an image instead of making one; remove {', '.join(given)} "
            "(or existing_image_id to make a new image)"
        )
        return None, [Failure(Source.EXISTING.value, reason)]
    if sources:
        return sources[0], []
    if _present(inputs, "data_images"):
        return Source.DATA_VOLUMES, []
    if adopting:
        return Source.EXISTING, []
    reason = (
        "an image needs a source: instance_id (ECS), image_url (OBS file), volume_id (data disk), "
        "data_images with volume_id entries (ECS data disks), or existing_image_id to adopt an image"
    )
    return None, [Failure("instance_id", reason)]


def _strip_unknowns(value: Any) -> Any:
    """Drop unknown values (and None) so the models validate only what is known."""
    if isinstance(value, Mapping):
        return {k: _strip_unknowns(v) for k, v in value.items() if v is not None and not is_unknown(v)}
    if isinstance(value, list | tuple):
        return [_strip_unknowns(v) for v in value if not is_unknown(v)]
    return value


def _is_unknown_at(raw: Any, loc: Iterable[int | str]) -> bool:
    node = raw
    for part in loc:
        if isinstance(node, Mapping) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
        if is_unknown(node):
            return True
    return False


def _location(where: str, loc: Iterable[int | str]) -> str:
    path = where
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _reason(field: str, error: Mapping[str, Any]) -> str:
    cause = (error.get("ctx") or {}).get("error")
    msg = str(cause) if isinstance(cause, ValueError) else str(error.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ").replace("Input should be", "must be")
    if isinstance(cause, RuleError) or not field:
        return msg
    return f"{field} {msg}"


def _validate_model(model: type[BaseModel], raw: Mapping[str, Any], where: str, scope: str) -> list[Failure]:
    """Run one model over the known values; turn each pydantic error into a Failure naming its property."""
    failures: list[Failure] = []
    try:
        model.model_validate(_strip_unknowns(raw))
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, RuleError):
                loc = (*loc, cause.field)
            field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
            if error["type"] == "missing":
                if not _is_unknown_at(raw, loc):
                    failures.append(Failure(_location(where, loc), f"{field} is required for {scope}"))
                continue
            failures.append(Failure(_location(where, loc) or where, _reason(field, error)))
    return failures


def check_inputs(inputs: Mapping[str, Any]) -> list[Failure]:
    """Every rule of the seed, before any API call; unknown (preview) values pass."""
    failures: list[Failure] = []
    failures += _check_timeouts(inputs.get("timeouts"))
    existing = inputs.get("existing_image_id")
    if existing is not None and not is_unknown(existing) and (not isinstance(existing, str) or not existing):
        failures.append(Failure("existing_image_id", "existing_image_id must be a non-empty image ID"))
    source, dispatch_failures = detect_source(inputs)
    failures += dispatch_failures
    if source is not None:
        request = {k: v for k, v in inputs.items() if k not in CONTROL_INPUTS and not k.startswith("__")}
        failures += _check_request(source, request)
    return [_named(f) for f in failures]


def _named(failure: Failure) -> Failure:
    """An input named "" or " " still gets a visible property in the failure (quoted)."""
    if failure.property.strip():
        return failure
    return Failure(json.dumps(failure.property), failure.reason)


def _check_request(source: Source, request: Mapping[str, Any]) -> list[Failure]:
    model = MODELS[source]
    failures: list[Failure] = []
    top_level = {k: v for k, v in request.items() if k != "data_images"}
    items = request.get("data_images")
    allowed = set(model.model_fields)
    for key in top_level:
        if key not in allowed:
            failures.append(Failure(key, _wrong_path(key, source)))
    known_top = {k: v for k, v in top_level.items() if k in allowed}
    item_model = ITEM_MODELS.get(source)
    if items is not None and not is_unknown(items):
        if item_model is None:
            failures.append(Failure("data_images", _wrong_path("data_images", source)))
        elif not isinstance(items, list):
            failures.append(Failure("data_images", "data_images must be a list of objects"))
        else:
            failures += _check_items(source, item_model, items)
            failures += _repeated_sources(source, request, items)
            if source is Source.OBS and len(items) > MAX_OBS_DATA_IMAGES:
                failures.append(
                    Failure(
                        "data_images",
                        f"an OBS image file may bring at most {MAX_OBS_DATA_IMAGES} data-disk files "
                        f"(got {len(items)})",
                    )
                )
            if source is Source.DATA_VOLUMES and not items:
                failures.append(Failure("data_images", "data_images must list at least one data disk"))
    # The top-level model sees placeholder items so that item errors are reported once, above.
    placeholder_items = _placeholder_items(source) if items is not None and item_model is not None else None
    top_input = dict(known_top)
    if placeholder_items is not None:
        top_input["data_images"] = placeholder_items
    failures += [
        f
        for f in _validate_model(model, top_input, "", f"an image made from {DESCRIBE[source]}")
        if not f.property.startswith("data_images[")
    ]
    return failures


def _repeated_sources(source: Source, request: Mapping[str, Any], items: list[Any]) -> list[Failure]:
    """IMS refuses a disk or file listed twice (IMG.0120 / IMG.0123): say so before sending."""
    key = "image_url" if source is Source.OBS else "volume_id"
    seen: set[str] = set()
    if source is Source.OBS and isinstance(request.get("image_url"), str):
        seen.add(request["image_url"])
    failures = []
    for index, item in enumerate(items):
        value = item.get(key) if isinstance(item, Mapping) else None
        if not isinstance(value, str):
            continue
        if value in seen:
            message = f"{key} '{value}' is listed twice; each disk or file can make one image"
            failures.append(Failure(f"data_images[{index}].{key}", message))
        seen.add(value)
    return failures


def _placeholder_items(source: Source) -> list[dict[str, Any]]:
    if source is Source.OBS:
        return []
    return [{"name": "placeholder", "volume_id": "placeholder"}]


def _check_items(source: Source, item_model: type[BaseModel], items: list[Any]) -> list[Failure]:
    failures: list[Failure] = []
    for index, item in enumerate(items):
        where = f"data_images[{index}]"
        if is_unknown(item):
            continue
        if not isinstance(item, Mapping):
            failures.append(Failure(where, f"{where} must be an object"))
            continue
        for key in item:
            if key not in item_model.model_fields:
                failures.append(Failure(f"{where}.{key}", _wrong_item_field(key, source)))
        known = {k: v for k, v in item.items() if k in item_model.model_fields}
        failures += _validate_model(item_model, known, where, "each data_images entry")
    return failures


def _wrong_path(key: str, source: Source) -> str:
    users = [s for s, m in MODELS.items() if key in m.model_fields]
    if not users:
        return f"{key} is not an input of PrivateImage"
    where = " or ".join(DESCRIBE[s] for s in users)
    return f"{key} is not used when the image is made from {DESCRIBE[source]}; it applies to {where}"


def _wrong_item_field(key: str, source: Source) -> str:
    if source is Source.OBS:
        return f"{key} is not used in a data_images entry of an OBS import (use image_url and min_disk)"
    return f"{key} is not used in a data_images entry made from a data disk (use name and volume_id)"


def _check_timeouts(value: Any) -> list[Failure]:
    if value is None or is_unknown(value):
        return []
    if not isinstance(value, Mapping):
        return [Failure("timeouts", "timeouts must be an object with create, update and delete durations")]
    failures = []
    for key, text in value.items():
        if key not in TIMEOUT_KINDS:
            failures.append(
                Failure(f"timeouts.{key}", f"timeouts.{key} is not one of create, update, delete")
            )
        elif text is not None and not is_unknown(text):
            try:
                if not isinstance(text, str):
                    raise ValueError("must be a duration such as '45m' or '1h30m'")
                parse_duration(text)
            except ValueError as exc:
                failures.append(Failure(f"timeouts.{key}", f"timeouts.{key} {exc}"))
    return failures


def timeouts_of(inputs: Mapping[str, Any]) -> dict[str, float]:
    """Seconds for create, update and delete: the defaults, overridden by the ``timeouts`` input."""
    result = dict(DEFAULT_TIMEOUTS)
    given = inputs.get("timeouts")
    if isinstance(given, Mapping):
        for key in TIMEOUT_KINDS:
            text = given.get(key)
            if isinstance(text, str):
                result[key] = parse_duration(text)
    return result


# --- body ---------------------------------------------------------------------------------------------


def build_request(inputs: Mapping[str, Any]) -> CreateRequest:
    """The validated request model for checked inputs (raises ValueError when they are not valid)."""
    failures = check_inputs(inputs)
    source = detect_source(inputs)[0]
    if source is None or source is Source.EXISTING or failures:
        reason = "an adopted image (existing_image_id) is not created" if source is Source.EXISTING else ""
        raise ValueError(
            "; ".join(f"{f.property}: {f.reason}" for f in failures) or reason or "no image source"
        )
    request = {k: v for k, v in inputs.items() if k not in CONTROL_INPUTS and not k.startswith("__")}
    model = MODELS[source]
    parsed = model.model_validate(_strip_unknowns(request))
    assert isinstance(parsed, EcsImageRequest | ObsImageRequest | VolumeImageRequest | DataImagesRequest)
    return parsed


def build_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of ``POST /v2/cloudimages/action``: exactly the fields the user set, in API form."""
    request = build_request(inputs)
    body: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
    return body


def source_of(inputs: Mapping[str, Any]) -> Source | None:
    return detect_source(inputs)[0]
