"""ImageCopy, declared once: a copy of an image in the provider's region or in another one.

``POST /v1/cloudimages/{id}/copy`` copies within the region (name, description, encryption key, enterprise
project); ``POST /v1/cloudimages/{id}/cross_region_copy`` copies to another region (name, description, the
target region and project, the IAM agency IMS acts as there, a CBR vault for full-ECS images). Both answer
with a job whose ``entities.image_id`` is the copy. RAM bounds and tags are not part of either request:
they are set on the copy once it is active (as Terraform does), so recovery does not compare them. Which
path a copy takes depends on the provider's region, so the functions here take it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ims_provider.model.expected import Comparison, Expected, RequestShape
from ims_provider.model.live import DATA_IMAGE_TYPE
from ims_provider.model.private_image import IMAGE_ATTRIBUTES, PRIVATE_IMAGE, timeouts_of
from ims_provider.model.rules import Failure, RamBounds, RegionId, ResourceId
from ims_provider.model.schema import (
    OPTIONAL,
    REQUIRED,
    Change,
    Field,
    Output,
    Presence,
    Reported,
    ResourceSchema,
    is_unknown,
)

IN_REGION = "in region"  # target_region absent, or the provider's own region
ACROSS = "across regions"  # target_region names another region
BOTH = {IN_REGION: OPTIONAL, ACROSS: OPTIONAL}
# What IMS's job names the copy's source by. Inferred: IMS documents __originalimagename as the parent image,
# but does not say that a copy carries it (ims-api-more.md §1, UNVERIFIED).
SOURCE_KEY = "__originalimagename"


def _on(name: str, on: Mapping[str, Presence], **changes: Any) -> Field:
    """One of PrivateImage's fields, taken by the copy paths (its rule, report and PATCH stay one fact)."""
    return dataclasses.replace(PRIVATE_IMAGE.field(name), on=dict(on), **changes)


FIELDS: tuple[Field, ...] = (
    Field(
        "source_image_id",
        ResourceId,
        {IN_REGION: REQUIRED, ACROSS: REQUIRED},
        Change.REPLACE,
        Reported(SOURCE_KEY, note="inferred: IMS is not documented to mark a copy with its source"),
        rule_text="the image to copy, in the provider's region (a private image of this project)",
    ),
    _on("name", {IN_REGION: REQUIRED, ACROSS: REQUIRED}),
    _on("description", BOTH),
    Field(
        "target_region",
        RegionId,
        BOTH,
        Change.REPLACE,
        located=True,
        rule_text="the region of the copy: absent or the provider's region copies within it, another region "
        "copies across (the copy lives, is changed and deleted there)",
    ),
    Field(
        "agency_name",
        ResourceId,
        {ACROSS: REQUIRED},
        Change.REPLACE,
        rule_text="the IAM agency IMS uses in the target region (with the `IMS CrossCopyAgencyPolicy`)",
    ),
    Field(
        "vault_id",
        ResourceId,
        {ACROSS: OPTIONAL},
        Change.REPLACE,
        rule_text="a CBR vault in the target region: required to copy a full-ECS image",
    ),
    _on("cmk_id", {IN_REGION: OPTIONAL}, rule_text="KMS key to encrypt the copy with (within a region only)"),
    _on(
        "enterprise_project_id",
        {IN_REGION: OPTIONAL},
        rule_text='`"0"` (default project) or a UUID (within a region only)',
    ),
    _on("min_ram", BOTH, applied_after=True),
    _on("max_ram", BOTH, applied_after=True),
    _on("tags", BOTH, applied_after=True),
    _on("image_tags", BOTH, applied_after=True),
    # PrivateImage's timeouts and their defaults (timeouts_of): a copy job may take as long as a create
    # (Terraform waits 60m for a copy job too, ims-api-more.md §9).
    _on("timeouts", BOTH),
)


def _reading(name: str) -> Any:
    """An output-only attribute of the copy, read as PrivateImage reads its input of that name."""
    reported = PRIVATE_IMAGE.field(name).reported
    assert reported is not None

    def read(live: Any) -> Any:
        return reported.live_value(live)

    return read


OUTPUTS: tuple[Output, ...] = (
    Output("image_id", lambda live: live.id or None, "str", "the copy (the resource ID)"),
    Output("region", None, "str", "the region the copy lives in"),
    Output(
        "job_id", None, "str", "the IMS job that made the copy (absent when an earlier attempt was adopted)"
    ),
    *IMAGE_ATTRIBUTES,
    Output("os_version", _reading("os_version"), "str", "IMS `__os_version` of the copy"),
    Output("os_type", _reading("os_type"), "str", "IMS `__os_type`"),
    Output("min_disk", _reading("min_disk"), "int", "GB"),
    Output("architecture", _reading("architecture"), "str", "`x86` or `arm`"),
    Output("hw_firmware_type", _reading("hw_firmware_type"), "str", "`bios` or `uefi`"),
)

IMAGE_COPY = ResourceSchema(
    "ImageCopy",
    FIELDS,
    OUTPUTS,
    path_order=(IN_REGION, ACROSS),
    path_names=(
        (IN_REGION, "a copy within the provider's region"),
        (ACROSS, "a copy to another region (target_region)"),
    ),
    region_input="target_region",
)
PATH_LETTERS = {IN_REGION: "R", ACROSS: "X"}


def copy_path(inputs: Mapping[str, Any], home_region: str) -> str | None:
    """Within the region or across, by ``target_region`` and the provider's region; None while unknown."""
    target = inputs.get("target_region")
    if is_unknown(target):
        return None
    return ACROSS if target and target != home_region else IN_REGION


def check_copy(inputs: Mapping[str, Any], home_region: str) -> list[Failure]:
    """Every rule before any API call; unknown (preview) values pass."""
    path = copy_path(inputs, home_region)
    if path is None:  # target_region is still unknown: each value on its own rule
        return IMAGE_COPY.check_fields(inputs)
    return IMAGE_COPY.check(path, inputs, RamBounds)


def copy_request(inputs: Mapping[str, Any], home_region: str) -> tuple[str, dict[str, Any]]:
    """The path and the body of the copy request, from checked inputs (ValueError when they are not valid)."""
    failures = check_copy(inputs, home_region)
    path = copy_path(inputs, home_region)
    if failures or path is None:
        raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in failures) or "target_region unknown")
    known: dict[str, Any] = IMAGE_COPY.validated(path, inputs, RamBounds)
    body = {"name": known["name"]}
    if known.get("description") is not None:
        body["description"] = known["description"]
    if path == IN_REGION:
        body.update({k: known[k] for k in ("cmk_id", "enterprise_project_id") if known.get(k) is not None})
        return path, body
    body["region"] = known["target_region"]
    # The copy goes to the target region's default project, named after the region (as Terraform sends it):
    # the provider reads, changes and deletes it there, as that project (RegionalClients).
    body["project_name"] = known["target_region"]
    body["agency_name"] = known["agency_name"]
    if known.get("vault_id") is not None:
        body["vault_id"] = known["vault_id"]
    return path, body


def refused_in_place(changed: Sequence[str], image_type: Any) -> list[str]:
    """Of the changed inputs, those a copy of a data image cannot take in place: IMS refuses to PATCH a data
    image (IMG.0168), so its name, description and RAM bounds change only with a new copy (its tags still
    change in place)."""
    if image_type != DATA_IMAGE_TYPE:
        return []
    return [n for n in changed if IMAGE_COPY.field(n).patch is not None and n in IMAGE_COPY.updatable]


def shape_of_copy(inputs: Mapping[str, Any], home_region: str) -> RequestShape:
    """The one image a copy request makes and how to recognise it (in the target region)."""
    path, _ = copy_request(inputs, home_region)
    request = {k: v for k, v in inputs.items() if k not in IMAGE_COPY.control and not k.startswith("__")}
    comparison = Comparison(IMAGE_COPY, path, request)
    # A copy may carry its source's claim (IMS does not say whether it copies custom attributes and tags).
    expected = Expected(
        str(inputs["name"]),
        SOURCE_KEY,
        str(inputs["source_image_id"]),
        None,
        (comparison,),
        own_claim_only=True,
    )
    return RequestShape(expected, ())


__all__ = [
    "ACROSS",
    "IMAGE_COPY",
    "IN_REGION",
    "PATH_LETTERS",
    "SOURCE_KEY",
    "check_copy",
    "copy_path",
    "copy_request",
    "refused_in_place",
    "shape_of_copy",
    "timeouts_of",
]
