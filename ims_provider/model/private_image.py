"""PrivateImage, declared once: its inputs, its data_images entries, its outputs and its create paths.

``POST /v2/cloudimages/action`` takes four request shapes (the seed page): a system image of an ECS (with
data images of its disks), an import from an OBS file (with up to 3 data-disk files), a system image of a data
disk, and data images of an ECS's disks alone; adopting an existing image is a fifth path that sends no
create. Every input is a :class:`~ims_provider.model.schema.Field` here, with the paths that take it; each
path is a :class:`CreatePath` carrying what is its own (the rules across its fields, how its images show their
source, which image is the resource, its job types). Checks, request bodies, diff, PATCH operations, outputs,
recovery and the README's input table all read these declarations.

A new create path is one more :class:`CreatePath` (and the fields it takes), plus the emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, model_validator

from ims_provider.durations import defaults_text
from ims_provider.model.expected import Comparison, Expected, RequestShape
from ims_provider.model.live import KIND_KEY, ORIGIN_KEY, LiveImage, origin, text
from ims_provider.model.rules import (
    MAX_DATA_IMAGE_TAGS,
    TAG_FORMS,
    Architecture,
    Description,
    EnterpriseProjectId,
    Failure,
    FirmwareType,
    Flag,
    ImageName,
    ImageTags,
    NonEmpty,
    ObsUrl,
    OldStyleTag,
    OsType,
    RamBounds,
    RamMb,
    ResourceId,
    RuleError,
    TaggedRequest,
    Timeouts,
    WholeNumber,
    ranged,
    seconds_of,
    whole,
)
from ims_provider.model.schema import (
    DERIVED,
    KEEP,
    OPTIONAL,
    REMOVE,
    REQUIRED,
    TAG_API,
    Change,
    Field,
    Output,
    Patch,
    Presence,
    Reported,
    ResourceSchema,
    failures_of,
    is_unknown,
    named,
    nested,
    plain,
    strip_unknowns,
    tags_value,
)

# --- paths --------------------------------------------------------------------------------------------

ECS = "ecs"  # instance_id: system image of an ECS (+ data images of its disks)
OBS = "obs"  # image_url: import from an OBS file (+ up to 3 data-disk files)
VOLUME = "volume"  # volume_id: system image of a data disk holding an OS
DATA = "data"  # data_images alone: data images of an ECS's disks
EXISTING = "existing"  # existing_image_id: adopt an image, create nothing
VOLUME_ENTRY = "volume entry"  # a data_images entry naming an ECS data disk
FILE_ENTRY = "file entry"  # a data_images entry naming an OBS data-disk file

SYSTEM_PATHS = (ECS, OBS, VOLUME)
MUTABLE_ON = {ECS: OPTIONAL, OBS: OPTIONAL, VOLUME: OPTIONAL, EXISTING: OPTIONAL}
MAX_OBS_DATA_IMAGES = 3
DEFAULT_TIMEOUTS: dict[str, float] = {"create": 3600.0, "update": 600.0, "delete": 600.0}

# --- how IMS reports an input -------------------------------------------------------------------------


def origin_id(kind: str) -> Callable[[Any], str | None]:
    """Reads ``__data_origin`` ("instance,<id>", "volume,<id>", "file,<bucket:object>") as the source ID."""

    def read(raw: Any) -> str | None:
        found, _, source = str(raw or "").partition(",")
        return source if found == kind and source else None

    return read


# IMS reports `type` as virtual_env_type: ECS and FusionCompute make FusionCompute, BMS and Ironic Ironic.
_ENV_OF_TYPE = {"ECS": "FusionCompute", "FusionCompute": "FusionCompute", "BMS": "Ironic", "Ironic": "Ironic"}


def _same_type(requested: Any, live: Any) -> bool:
    return bool(_ENV_OF_TYPE.get(requested, requested) == live)


def _iso(request: Mapping[str, Any]) -> bool:
    url = request.get("image_url")
    return isinstance(url, str) and url.lower().endswith(".iso")


def _default_type(request: Mapping[str, Any]) -> str:
    return "IsoImage" if _iso(request) else "ECS"


def _architecture(raw: Any) -> str | None:
    return None if raw is None else ("arm" if str(raw).lower() == "true" else "x86")


def _same_or_default(default: str) -> Callable[[Any, Any], bool]:
    """IMS leaves some attributes out when they hold their default (no ``hw_firmware_type`` means bios)."""

    def same(requested: Any, live: Any) -> bool:
        return (requested or default) == (live or default)

    return same


def _default_firmware(request: Mapping[str, Any]) -> str:
    return "uefi" if request.get("architecture") == "arm" else "bios"


def _ram(raw: Any) -> int:
    return whole(raw) or 0


def _same_ram(requested: Any, live: Any) -> bool:
    return (requested or 0) == (live or 0)


def _enterprise_project(raw: Any) -> str:
    return text(raw) or "0"


def _same_project(requested: Any, live: Any) -> bool:
    return (requested or "0") == (live or "0")


def _project_compare(value: Any) -> Any:
    return None if value in ("0", "") else value  # "0" is the default enterprise project: the same as none


def _tags_compare(value: Any) -> Any:
    return tags_value(value)


_NAME = Reported("name", unset=DERIVED)
_DESCRIPTION = Reported("__description")
_TAGS = Reported(TAG_API, unset={})

SystemDiskGb = Annotated[WholeNumber, AfterValidator(ranged(40, 255, "GB"))]
DataDiskGb = Annotated[WholeNumber, AfterValidator(ranged(1, 2048, "GB"))]
SystemImageType = Literal["ECS", "BMS", "FusionCompute", "Ironic"]
ImageType = Literal["ECS", "BMS", "FusionCompute", "Ironic", "IsoImage"]
TAG_FIELDS_TEXT = (
    '"key.value" strings (`"key"` alone: an empty value); letters, digits, `_`, `-`; never together with '
    "`image_tags`"
)
IMAGE_TAGS_TEXT = (
    "at most 10 tags per image (9 on a data image: the provider keeps one to mark the images it tracks); "
    "key 1–36, value 0–43 characters of letters, digits, space and `_ . : = + - @` (values also `/`); "
    "unique keys"
)

# --- data_images entries ----------------------------------------------------------------------------------

ENTRY_ON = {VOLUME_ENTRY: OPTIONAL, FILE_ENTRY: OPTIONAL}
ENTRY_FIELDS: tuple[Field, ...] = (
    Field("name", ImageName, {VOLUME_ENTRY: REQUIRED, FILE_ENTRY: OPTIONAL}, Change.REPLACE, _NAME),
    Field(
        "volume_id",
        ResourceId,
        {VOLUME_ENTRY: REQUIRED},
        Change.REPLACE,
        Reported(ORIGIN_KEY, read=origin_id("volume")),
        one_job_per="disk",
    ),
    Field(
        "image_url",
        ObsUrl,
        {FILE_ENTRY: REQUIRED},
        Change.REPLACE,
        Reported(ORIGIN_KEY, read=origin_id("file")),
    ),
    Field("description", Description, ENTRY_ON, Change.REPLACE, _DESCRIPTION),
    Field(
        "min_disk",
        DataDiskGb,
        {FILE_ENTRY: REQUIRED},
        Change.REPLACE,
        Reported("min_disk", read=whole, at_least=True),
    ),
    Field("is_quick_import", Flag, {FILE_ENTRY: OPTIONAL}, Change.REPLACE),
    Field("tags", list[OldStyleTag], ENTRY_ON, Change.UPDATE, _TAGS, compare=_tags_compare),
    Field("image_tags", ImageTags, ENTRY_ON, Change.UPDATE, _TAGS, compare=_tags_compare),
)
DATA_IMAGE_ENTRY = ResourceSchema("data_images entry", ENTRY_FIELDS, path_order=(VOLUME_ENTRY, FILE_ENTRY))


# --- the fields ----------------------------------------------------------------------------------------

FIELDS: tuple[Field, ...] = (
    Field(
        "name",
        ImageName,
        {ECS: REQUIRED, OBS: REQUIRED, VOLUME: REQUIRED, EXISTING: OPTIONAL},
        Change.UPDATE,
        _NAME,
        Patch("/name", KEEP),
        rule_text="1–128 characters: letters, digits, Chinese characters, space, `-` `.` `_`; no leading or "
        "trailing space",
    ),
    Field(
        "description",
        Description,
        MUTABLE_ON,
        Change.UPDATE,
        _DESCRIPTION,
        Patch("/__description", REMOVE),
        rule_text="at most 1024 characters; no line break (CR or LF), no `<` or `>`",
    ),
    Field(
        "instance_id",
        ResourceId,
        {ECS: REQUIRED},
        Change.REPLACE,
        Reported(ORIGIN_KEY, read=origin_id("instance")),
        one_job_per="ECS",
        rule_text="the ECS to image (it must be stopped)",
    ),
    Field(
        "data_images",
        list[Any],  # each entry is checked by its own model: ENTRY below
        {ECS: OPTIONAL, OBS: OPTIONAL, DATA: REQUIRED},
        Change.REPLACE,
        compare=nested,
        entries=DATA_IMAGE_ENTRY,
        type_text="list",
        rule_text="E/D: entries `{name, volume_id, description?, tags? \\| image_tags?}`; "
        "O: at most 3 entries "
        "`{image_url, min_disk (1–2048 GB), name?, description?, is_quick_import?, tags? \\| image_tags?}`; "
        "no disk or file twice",
    ),
    Field(
        "image_url",
        ObsUrl,
        {OBS: REQUIRED},
        Change.REPLACE,
        Reported(ORIGIN_KEY, read=origin_id("file")),
        rule_text="`bucket:object`",
    ),
    Field(
        "min_disk",
        SystemDiskGb,
        {OBS: REQUIRED},
        Change.REPLACE,
        Reported(
            "min_disk",
            read=whole,
            at_least=True,
            note="a live min_disk above the requested one agrees, as IMS may raise it to what the file needs",
        ),
        type_text="int",
        rule_text="40–255 GB",
    ),
    Field(
        "os_version",
        NonEmpty,
        {OBS: OPTIONAL, VOLUME: REQUIRED},
        Change.REPLACE,
        Reported(
            "__os_version",
            unset=DERIVED,
            derived_on=frozenset({VOLUME}),
            note="compared only when the program sets it, and never on an image of a data disk, where IMS "
            "uses the OS it detects on the disk instead",
        ),
        rule_text="required on V, and on O with `is_quick_import` or an `.iso` file "
        "(e.g. `CentOS 7.0 64bit`)",
    ),
    Field(
        "os_type",
        OsType,
        {OBS: OPTIONAL},
        Change.REPLACE,
        Reported("__os_type", unset=DERIVED),
        rule_text="`Linux`, `Windows` or `Other`",
    ),
    Field(
        "is_config",
        Flag,
        {OBS: OPTIONAL},
        Change.REPLACE,
        type_text="bool",
        rule_text="let IMS configure the image",
    ),
    Field(
        "is_config_init",
        Flag,
        {OBS: OPTIONAL},
        Change.REPLACE,
        type_text="bool",
        rule_text="as in the API's examples",
    ),
    Field(
        "is_quick_import",
        Flag,
        {OBS: OPTIONAL},
        Change.REPLACE,
        type_text="bool",
        rule_text="quick import (RAW or ZVHD2 files)",
    ),
    Field(
        "cmk_id",
        ResourceId,
        {OBS: OPTIONAL},
        Change.REPLACE,
        Reported("__system__cmkid"),
        rule_text="KMS key: an encrypted image",
    ),
    Field(
        "volume_id",
        ResourceId,
        {VOLUME: REQUIRED},
        Change.REPLACE,
        Reported(ORIGIN_KEY, read=origin_id("volume")),
        one_job_per="disk",
        rule_text="the data disk holding an OS",
    ),
    Field(
        "type",
        ImageType,
        {OBS: OPTIONAL, VOLUME: OPTIONAL},
        Change.REPLACE,
        Reported(KIND_KEY, same=_same_type, unset=_default_type),
        rule_text="`ECS`, `BMS`, `FusionCompute` or `Ironic`; on O also `IsoImage` for an `.iso` file",
    ),
    Field(
        "tags",
        list[OldStyleTag],
        MUTABLE_ON,
        Change.UPDATE,
        _TAGS,
        compare=_tags_compare,
        type_text="list[str]",
        rule_text=TAG_FIELDS_TEXT,
    ),
    Field(
        "image_tags",
        ImageTags,
        MUTABLE_ON,
        Change.UPDATE,
        _TAGS,
        compare=_tags_compare,
        type_text="mapping or list of `{key, value}`",
        rule_text=IMAGE_TAGS_TEXT,
    ),
    Field(
        "enterprise_project_id",
        EnterpriseProjectId,
        {ECS: OPTIONAL, OBS: OPTIONAL, VOLUME: OPTIONAL, DATA: OPTIONAL},
        Change.REPLACE,
        Reported("enterprise_project_id", read=_enterprise_project, same=_same_project, unset="0"),
        compare=_project_compare,
        rule_text='`"0"` (default project) or a UUID',
    ),
    Field(
        "min_ram",
        RamMb,
        MUTABLE_ON,
        Change.UPDATE,
        Reported("min_ram", read=_ram, same=_same_ram, unset=0),
        Patch("/min_ram", 0),
        type_text="int",
        rule_text="MB, 0–1048576, at most `max_ram` when both are non-zero (0 = not restricted)",
    ),
    Field(
        "max_ram",
        RamMb,
        MUTABLE_ON,
        Change.UPDATE,
        Reported("max_ram", read=whole, same=_same_ram, unset=0),
        Patch("/max_ram", REMOVE),
        type_text="int",
        rule_text="MB, 0–1048576",
    ),
    Field(
        "architecture",
        Architecture,
        {OBS: OPTIONAL},
        Change.REPLACE,
        Reported("__support_arm", read=_architecture, same=_same_or_default("x86"), unset="x86"),
        rule_text="`x86` or `arm` (arm boots uefi)",
    ),
    Field(
        "hw_firmware_type",
        FirmwareType,
        {OBS: OPTIONAL},
        Change.REPLACE,
        Reported("hw_firmware_type", same=_same_or_default("bios"), unset=_default_firmware),
        rule_text="`bios` or `uefi`",
    ),
    Field(
        "existing_image_id",
        ResourceId,
        {EXISTING: REQUIRED},
        Change.REPLACE,
        control=True,
        rule_text="adopt this image instead of creating one; goes with no source, and only with `name`, "
        "`description`, `tags`/`image_tags`, `min_ram`, `max_ram`",
    ),
    Field(
        "timeouts",
        Timeouts,
        {ECS: OPTIONAL, OBS: OPTIONAL, VOLUME: OPTIONAL, DATA: OPTIONAL, EXISTING: OPTIONAL},
        Change.NONE,
        control=True,
        compare=nested,
        type_text="`{create, update, delete}`",
        rule_text='durations such as `"45m"`, `"1h30m"`, `"90s"` or a number of seconds; '
        + defaults_text(DEFAULT_TIMEOUTS),
    ),
)


def _image_id(live: LiveImage) -> str | None:
    return live.id or None


def _attribute(key: str) -> Callable[[LiveImage], Any]:
    def read(live: LiveImage) -> Any:
        return text(live.attribute(key))

    return read


def _image_size(live: LiveImage) -> int | None:
    return whole(live.attribute("__image_size")) or whole(live.attribute("size"))


# What every image shows, whatever made it (PrivateImage, ImageCopy).
IMAGE_ATTRIBUTES: tuple[Output, ...] = (
    Output("status", lambda live: live.status or None, "str", "the image status (`active` after create)"),
    Output("disk_format", _attribute("disk_format"), "str", "e.g. `zvhd2`"),
    Output("image_size", _image_size, "int", "bytes (`__image_size`)"),
    Output("visibility", _attribute("visibility"), "str", "`private`"),
    Output("created_at", _attribute("created_at"), "str", "UTC timestamp from IMS"),
    Output("updated_at", _attribute("updated_at"), "str", "UTC timestamp from IMS"),
    Output(
        "data_origin",
        _attribute(ORIGIN_KEY),
        "str",
        "IMS `__data_origin`: `instance,<ecs>`, `volume,<volume>` or `file,<bucket:object>`",
    ),
    Output(
        "image_type",
        _attribute(KIND_KEY),
        "str",
        "IMS `virtual_env_type`: `FusionCompute`, `Ironic`, `DataImage`, `IsoImage`",
    ),
)
OUTPUTS: tuple[Output, ...] = (
    Output("image_id", _image_id, "str", "the resource ID: the system image, or the first data image"),
    Output("data_image_ids", None, "list[str]", "data images made, in the order of `data_images`"),
    Output("job_id", None, "str", "the IMS job that made the images (absent for adopted images)"),
    *IMAGE_ATTRIBUTES,
)

PRIVATE_IMAGE = ResourceSchema("PrivateImage", FIELDS, OUTPUTS, path_order=(ECS, OBS, VOLUME, DATA, EXISTING))


class DataImageRules(TaggedRequest):
    """A data image's own tags: one place fewer, as the provider marks tracked data images with a tag."""

    tag_limit = MAX_DATA_IMAGE_TAGS


ENTRY_MODELS: dict[str, type[BaseModel]] = {
    path: DATA_IMAGE_ENTRY.request_model(path, DataImageRules) for path in (VOLUME_ENTRY, FILE_ENTRY)
}

# --- rules across fields, per path -------------------------------------------------------------------------


class ObsRules(RamBounds):
    """What IMS needs on an import: the OS version of a quick import or an ISO file, uefi on arm, and
    ``IsoImage`` only for an ISO file."""

    @model_validator(mode="after")
    def _obs(self) -> ObsRules:
        url = str(getattr(self, "image_url", ""))
        iso = url.lower().endswith(".iso")
        if getattr(self, "os_version", None) is None:
            if getattr(self, "is_quick_import", None):
                raise RuleError(
                    "os_version",
                    "os_version is required when is_quick_import is true (IMS does not read the file)",
                )
            if iso or getattr(self, "type", None) == "IsoImage":
                raise RuleError("os_version", "os_version is required for an ISO image file")
        if getattr(self, "type", None) == "IsoImage" and not iso:
            raise RuleError(
                "type", f"type IsoImage is for ISO files (an image_url ending in .iso), not {url!r}"
            )
        if getattr(self, "architecture", None) == "arm" and getattr(self, "hw_firmware_type", None) == "bios":
            raise RuleError(
                "hw_firmware_type",
                "an arm image boots with uefi: set hw_firmware_type to uefi or leave it out (got bios with "
                "architecture arm)",
            )
        return self


@dataclass(frozen=True)
class CreatePath:
    """One way to make (or take) the resource's images, and what is its own."""

    name: str
    letter: str  # the README's "Path" column
    source: str | None  # the input that selects the path
    describe: str
    rules: type[BaseModel]
    entries: str | None = None  # the entry kind of its data_images
    primary_kind: str | None = (
        None  # the origin kind of the system image; None: the first data image is primary
    )
    job_type: str = ""
    entry_job_type: str = ""
    max_entries: int | None = None
    min_entries: int = 0
    misplaced: tuple[str, ...] = ()  # inputs IMS ignores on this path (the seed: data_images win)
    overrides: Mapping[str, Any] = dataclass_field(default_factory=dict)  # a field's rule on this path

    @cached_property
    def model(self) -> type[BaseModel]:
        """The request model; its data_images are entries of this path's kind, checked (and converted, e.g.
        engine doubles to ints) by the entry model."""
        rules = dict(self.overrides)
        if self.entry_model is not None:
            rules["data_images"] = list[self.entry_model]  # type: ignore[name-defined]
        return PRIVATE_IMAGE.request_model(self.name, self.rules, rules)

    @property
    def entry_model(self) -> type[BaseModel] | None:
        return ENTRY_MODELS[self.entries] if self.entries else None

    def primary_origin(self, request: Mapping[str, Any]) -> str | None:
        if self.primary_kind is None or self.source is None:
            return None
        return origin(self.primary_kind, str(request[self.source]))


def entry_origin(entry: Mapping[str, Any]) -> str:
    """``__data_origin`` of the data image a ``data_images`` entry makes."""
    if entry.get("volume_id"):
        return origin("volume", str(entry["volume_id"]))
    return origin("file", str(entry.get("image_url", "")))


PATHS: dict[str, CreatePath] = {
    ECS: CreatePath(
        ECS,
        "E",
        "instance_id",
        "an ECS (instance_id)",
        RamBounds,
        entries=VOLUME_ENTRY,
        primary_kind="instance",
        job_type="imsCreateImageByInstance",
        entry_job_type="imsCopyVolumeToImageJob",
    ),
    OBS: CreatePath(
        OBS,
        "O",
        "image_url",
        "an OBS image file (image_url)",
        ObsRules,
        entries=FILE_ENTRY,
        primary_kind="file",
        job_type="imsImportImageJob",
        entry_job_type="imsImportDataImageJob",
        max_entries=MAX_OBS_DATA_IMAGES,
    ),
    VOLUME: CreatePath(
        VOLUME,
        "V",
        "volume_id",
        "a data disk (volume_id)",
        RamBounds,
        primary_kind="volume",
        job_type="imsVolumeCreateImageJob",
        overrides={"type": SystemImageType},  # IsoImage is only for an ISO file from OBS
    ),
    DATA: CreatePath(
        DATA,
        "D",
        "data_images",
        "ECS data disks (data_images alone)",
        TaggedRequest,
        entries=VOLUME_ENTRY,
        job_type="imsVolumesToSysDataImagesJob",
        entry_job_type="imsCopyVolumeToImageJob",
        min_entries=1,
        misplaced=("name", "description", "tags", "image_tags"),
    ),
    EXISTING: CreatePath(
        EXISTING, "–", "existing_image_id", "an existing image (existing_image_id)", RamBounds
    ),
}
SOURCES = tuple(PATHS[p].source for p in SYSTEM_PATHS)

# --- dispatch and check ------------------------------------------------------------------------------------


def _present(inputs: Mapping[str, Any], key: str) -> bool:
    """Set, or still unknown in a preview (an unknown source still selects its path)."""
    return inputs.get(key) is not None


def _choices() -> str:
    return (
        "instance_id (an ECS), image_url (an OBS file), volume_id (a data disk), data_images alone (ECS data "
        "disks), or existing_image_id (adopt an image)"
    )


def detect_path(inputs: Mapping[str, Any]) -> tuple[CreatePath | None, list[Failure]]:
    """The one path the inputs describe, or why there is not exactly one."""
    given = [p for p in SYSTEM_PATHS if _present(inputs, str(PATHS[p].source))]
    if len(given) > 1:
        names = [str(PATHS[p].source) for p in given]
        reason = f"set exactly one image source, not {' and '.join(names)}; the sources are: {_choices()}"
        return None, [Failure(name, reason) for name in names]
    adopting = _present(inputs, "existing_image_id")
    if adopting and (given or _present(inputs, "data_images")):
        named = [str(PATHS[p].source) for p in given] or ["data_images"]
        reason = (
            f"existing_image_id adopts an image instead of making one; remove {', '.join(named)} "
            "(or existing_image_id to make a new image)"
        )
        return None, [Failure("existing_image_id", reason)]
    if given:
        return PATHS[given[0]], []
    if _present(inputs, "data_images"):
        return PATHS[DATA], []
    if adopting:
        return PATHS[EXISTING], []
    return None, [Failure("instance_id", f"an image needs a source; set one of: {_choices()}")]


def request_of(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs that go into a request body (no control inputs, no engine keys)."""
    return {k: v for k, v in inputs.items() if k not in PRIVATE_IMAGE.control and not k.startswith("__")}


def check_inputs(inputs: Mapping[str, Any]) -> list[Failure]:
    """Every rule, before any API call; unknown (preview) values pass."""
    failures = PRIVATE_IMAGE.check_control(inputs)
    path, dispatch = detect_path(inputs)
    failures += dispatch
    if path is not None:
        failures += _check_request(path, request_of(inputs))
    return [named(f) for f in failures]


def _takes(schema: ResourceSchema, path: str, key: str) -> bool:
    return schema.takes(path, key)


def _check_request(path: CreatePath, request: Mapping[str, Any]) -> list[Failure]:
    failures = [
        Failure(key, _wrong_path(key, path)) for key in request if not _takes(PRIVATE_IMAGE, path.name, key)
    ]
    known = {k: v for k, v in request.items() if _takes(PRIVATE_IMAGE, path.name, k)}
    entries = request.get("data_images")
    if entries is not None and not is_unknown(entries) and path.entries is not None:
        failures += _check_entries(path, entries, request)
    scope = f"an image made from {path.describe}"
    # Entries were checked above, each with its own location; the request model would repeat them.
    failures += [
        f for f in failures_of(path.model, known, "", scope) if not f.property.startswith("data_images[")
    ]
    return failures


def _check_entries(path: CreatePath, entries: Any, request: Mapping[str, Any]) -> list[Failure]:
    if not isinstance(entries, list):
        return [
            Failure("data_images", f"data_images must be a list of objects (got {type(entries).__name__})")
        ]
    failures: list[Failure] = []
    model = path.entry_model
    assert model is not None and path.entries is not None
    for index, entry in enumerate(entries):
        where = f"data_images[{index}]"
        if is_unknown(entry):
            continue
        if not isinstance(entry, Mapping):
            failures.append(Failure(where, f"{where} must be an object (got {type(entry).__name__})"))
            continue
        kind = path.entries
        failures += [
            Failure(f"{where}.{key}", _wrong_entry_field(key, path))
            for key in entry
            if not _takes(DATA_IMAGE_ENTRY, kind, key)
        ]
        known = {k: v for k, v in entry.items() if _takes(DATA_IMAGE_ENTRY, kind, k)}
        failures += failures_of(model, known, where, "each data_images entry")
    failures += _repeated_sources(path, request, entries)
    if path.max_entries is not None and len(entries) > path.max_entries:
        failures.append(
            Failure(
                "data_images",
                f"an OBS image file may bring at most {path.max_entries} data-disk files "
                f"(got {len(entries)})",
            )
        )
    if len(entries) < path.min_entries:
        failures.append(Failure("data_images", "data_images must list at least one data disk"))
    return failures


def _repeated_sources(path: CreatePath, request: Mapping[str, Any], entries: Sequence[Any]) -> list[Failure]:
    """IMS refuses a disk or file listed twice (IMG.0120 / IMG.0123): say so before sending."""
    key = "image_url" if path.entries == FILE_ENTRY else "volume_id"
    seen: set[str] = set()
    if path.source == key and isinstance(request.get(key), str):
        seen.add(request[key])
    failures = []
    for index, entry in enumerate(entries):
        value = entry.get(key) if isinstance(entry, Mapping) else None
        if not isinstance(value, str):
            continue
        if value in seen:
            message = f"{key} {value!r} is listed twice; each disk or file can make one image"
            failures.append(Failure(f"data_images[{index}].{key}", message))
        seen.add(value)
    return failures


def _wrong_path(key: str, path: CreatePath) -> str:
    if key in path.misplaced:
        return (
            f"{key} is ignored by IMS when only data images are made (data_images alone): IMS takes each "
            f"data image's {key} from its data_images entry, so set it there"
        )
    users = PRIVATE_IMAGE.users_of(key)
    if not users:
        return (
            f"{key} is not an input of PrivateImage; the inputs are: {', '.join(PRIVATE_IMAGE.input_names)}"
        )
    where = " or ".join(PATHS[p].describe for p in users)
    return f"{key} is not used when the image is made from {path.describe}; it applies to {where}"


def _wrong_entry_field(key: str, path: CreatePath) -> str:
    if path.entries == FILE_ENTRY:
        return f"{key} is not used in a data_images entry of an OBS import (use image_url and min_disk)"
    return f"{key} is not used in a data_images entry made from a data disk (use name and volume_id)"


def timeouts_of(inputs: Mapping[str, Any]) -> dict[str, float]:
    """Seconds for create, update and delete: the defaults, overridden by the ``timeouts`` input."""
    return seconds_of(inputs.get("timeouts"), DEFAULT_TIMEOUTS)


def build_request(inputs: Mapping[str, Any]) -> tuple[CreatePath, BaseModel]:
    """The path and the validated request of checked inputs; ValueError when they are not valid (or when
    they adopt an image, which sends no create request)."""
    failures = check_inputs(inputs)
    path = detect_path(inputs)[0]
    if failures or path is None:
        raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in failures) or "no image source")
    if path.name == EXISTING:
        raise ValueError("an adopted image (existing_image_id) is not created")
    return path, path.model.model_validate(strip_unknowns(request_of(inputs)))


def build_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of ``POST /v2/cloudimages/action``: exactly the fields the program set, in API form."""
    _, request = build_request(inputs)
    body: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
    return body


def shape_of(inputs: Mapping[str, Any]) -> RequestShape:
    """The images a (checked) create request makes, how to recognise each on IMS, and the sources IMS images
    one job at a time."""
    path, _ = build_request(inputs)
    request = request_of(inputs)
    top = Comparison(PRIVATE_IMAGE, path.name, request)
    shared = Comparison(PRIVATE_IMAGE, path.name, request, frozenset({"enterprise_project_id"}))
    extras = []
    entries = [entry for entry in request.get("data_images") or [] if isinstance(entry, Mapping)]
    for entry in entries:
        assert path.entries is not None
        name = entry.get("name")
        comparisons = (Comparison(DATA_IMAGE_ENTRY, path.entries, entry), shared)
        extras.append(
            Expected(str(name) if name else None, ORIGIN_KEY, entry_origin(entry), True, comparisons)
        )
    sources = _busy_sources(PRIVATE_IMAGE, request) + [
        s for e in entries for s in _busy_sources(DATA_IMAGE_ENTRY, e)
    ]
    primary_origin = path.primary_origin(request)
    if primary_origin is None:
        return RequestShape(extras[0], tuple(extras[1:]), tuple(sources))
    primary = Expected(str(request["name"]), ORIGIN_KEY, primary_origin, False, (top,))
    return RequestShape(primary, tuple(extras), tuple(sources))


def _busy_sources(schema: ResourceSchema, request: Mapping[str, Any]) -> list[str]:
    return [
        f"{f.one_job_per} {request[f.name]}"
        for f in schema.fields
        if f.one_job_per is not None and isinstance(request.get(f.name), str)
    ]


def label_of(inputs: Mapping[str, Any]) -> str:
    """What progress lines and warnings call the resource: its image name, else what it adopts."""
    if inputs.get("name"):
        return str(inputs["name"])
    entries = inputs.get("data_images") or []
    if entries and isinstance(entries[0], Mapping) and entries[0].get("name"):
        return str(entries[0]["name"])
    return str(inputs.get("existing_image_id") or "image")


__all__ = [
    "DATA",
    "DATA_IMAGE_ENTRY",
    "ECS",
    "ENTRY_MODELS",
    "EXISTING",
    "FILE_ENTRY",
    "IMAGE_ATTRIBUTES",
    "OBS",
    "PATHS",
    "PRIVATE_IMAGE",
    "SOURCES",
    "TAG_FORMS",
    "VOLUME",
    "VOLUME_ENTRY",
    "CreatePath",
    "Presence",
    "build_body",
    "build_request",
    "check_inputs",
    "detect_path",
    "entry_origin",
    "label_of",
    "plain",
    "request_of",
    "shape_of",
    "timeouts_of",
]
