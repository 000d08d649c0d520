"""ImageShare and ImageShareAccepter, declared once.

Sharing is membership: the owner adds projects as members of an image (``POST /v1/cloudimages/members``),
a member accepts or rejects it (``PUT``), the owner removes members (``DELETE``); each is an asynchronous
job. A member starts ``pending``; ``accepted`` puts the image in the member's image list, ``rejected`` takes
it out again (ims-api-more.md §3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic import Field as Constraint

from ims_provider.durations import defaults_text
from ims_provider.model.live import LiveImage
from ims_provider.model.private_image import IMAGE_ATTRIBUTES, PRIVATE_IMAGE
from ims_provider.model.rules import Failure, ProjectId, RegionId, ResourceId, TaggedRequest, seconds_of
from ims_provider.model.schema import (
    OPTIONAL,
    REQUIRED,
    Change,
    Field,
    Output,
    ResourceSchema,
)

SHARE = "share"
ACCEPT = "accept"
MAX_MEMBERS = 256  # a system or data-disk image can be shared with at most 256 projects (§3.5)
# Terraform waits 5 minutes for a member job; IMS's member jobs are quick.
DEFAULT_TIMEOUTS: dict[str, float] = {"create": 300.0, "update": 300.0, "delete": 300.0}


def _unique(value: list[str]) -> list[str]:
    repeated = sorted({p for p in value if value.count(p) > 1})
    if repeated:
        raise ValueError(f"must list each project once; repeated: {', '.join(repeated)}")
    return value


ProjectIds = Annotated[
    list[ProjectId], Constraint(min_length=1, max_length=MAX_MEMBERS), AfterValidator(_unique)
]


def _as_set(value: Any) -> Any:
    """Members are a set: the order the program lists them in changes nothing."""
    return sorted(value) if isinstance(value, list) else value


_TIMEOUTS = PRIVATE_IMAGE.field("timeouts")
_TIMEOUTS_RULE = "as for PrivateImage; " + defaults_text(DEFAULT_TIMEOUTS)


def _region(path: str, what: str) -> Field:
    return Field(
        "region",
        RegionId,
        {path: OPTIONAL},
        Change.REPLACE,
        located=True,
        rule_text=f"the region of the image {what}; default: the provider's region (`ims:region`)",
    )


REGION_OUTPUT = Output("region", None, "str", "the region the image is in (the input, or the provider's)")

SHARE_FIELDS: tuple[Field, ...] = (
    Field(
        "source_image_id",
        ResourceId,
        {SHARE: REQUIRED},
        Change.REPLACE,
        rule_text="the image to share: a private image of this project, in `region`",
    ),
    Field(
        "target_project_ids",
        ProjectIds,
        {SHARE: REQUIRED},
        Change.UPDATE,
        compare=_as_set,
        type_text="list[str]",
        rule_text=f"the projects to share with (IDs: 32 hexadecimal characters), 1 to {MAX_MEMBERS}, each "
        "once; members added and removed in place",
    ),
    _region(SHARE, "and of the member projects"),
    dataclasses.replace(_TIMEOUTS, on={SHARE: OPTIONAL}, rule_text=_TIMEOUTS_RULE),
)
SHARE_OUTPUTS: tuple[Output, ...] = (
    REGION_OUTPUT,
    Output(
        "members",
        None,
        "list of `{project_id, status}`",
        "each target project and its member status as IMS lists it: `pending`, `accepted`, `rejected`",
    ),
)
IMAGE_SHARE = ResourceSchema(
    "ImageShare",
    SHARE_FIELDS,
    SHARE_OUTPUTS,
    path_order=(SHARE,),
    path_names=((SHARE, "a share"),),
    region_input="region",
    # A new share of the same image (`pulumi up --replace`), made first, would find its members there, and
    # the old one's delete would then remove them: the old share's members are removed first.
    replace_deletes_first=True,
)

ACCEPTER_FIELDS: tuple[Field, ...] = (
    Field(
        "image_id",
        ResourceId,
        {ACCEPT: REQUIRED},
        Change.REPLACE,
        rule_text="the image another project shared with this one (the provider's project is the member)",
    ),
    Field(
        "vault_id",
        ResourceId,
        {ACCEPT: OPTIONAL},
        Change.REPLACE,
        rule_text="a CBR vault: required to accept a full-ECS image made from a CBR backup",
    ),
    _region(ACCEPT, "(the provider's project in it is the member)"),
    dataclasses.replace(_TIMEOUTS, on={ACCEPT: OPTIONAL}, rule_text=_TIMEOUTS_RULE),
)


def _attribute(key: str) -> Any:
    def read(live: LiveImage) -> Any:
        value = live.attribute(key)
        return None if value in (None, "") else value

    return read


# The image as the member lists it (`visibility=shared`): IMS shows it `shared` there, whatever owners see.
_MEMBER_VIEW: dict[str, Output] = {
    "visibility": Output(
        "visibility",
        _attribute("visibility"),
        "str",
        "`shared`: the image as this project, a member, lists it",
    ),
}
ACCEPTER_OUTPUTS: tuple[Output, ...] = (
    REGION_OUTPUT,
    Output("status", _attribute("member_status"), "str", "this project's member status (`accepted`)"),
    Output("name", _attribute("name"), "str", "the image's name"),
    Output("owner", _attribute("owner"), "str", "the project that shares it"),
    Output("image_status", lambda live: live.status or None, "str", "the image's own status"),
    *(_MEMBER_VIEW.get(o.name, o) for o in IMAGE_ATTRIBUTES if o.name != "status"),
)
IMAGE_SHARE_ACCEPTER = ResourceSchema(
    "ImageShareAccepter",
    ACCEPTER_FIELDS,
    ACCEPTER_OUTPUTS,
    path_order=(ACCEPT,),
    path_names=((ACCEPT, "accepting a shared image"),),
    region_input="region",
    # Made first, a new acceptance of the same image would find it accepted already, and the old one's
    # delete would then reject it: the old one is rejected first (a new vault, or a forced replacement).
    replace_deletes_first=True,
)


def check_share(inputs: Mapping[str, Any]) -> list[Failure]:
    return IMAGE_SHARE.check(SHARE, inputs, TaggedRequest)


def check_accepter(inputs: Mapping[str, Any]) -> list[Failure]:
    return IMAGE_SHARE_ACCEPTER.check(ACCEPT, inputs, TaggedRequest)


def share_timeouts(inputs: Mapping[str, Any]) -> dict[str, float]:
    return seconds_of(inputs.get("timeouts"), DEFAULT_TIMEOUTS)


__all__ = [
    "ACCEPT",
    "IMAGE_SHARE",
    "IMAGE_SHARE_ACCEPTER",
    "MAX_MEMBERS",
    "SHARE",
    "check_accepter",
    "check_share",
    "share_timeouts",
]
