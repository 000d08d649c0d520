"""GET /v2/cloudimages: which images a caller lists, the filters IMS documents, sorting and marker paging.

Filters from ims-api-more.md §5.1 (SDK ListImagesRequest, OTC querying_images, HW ims_03_0602); paging from
§5.2 (a marker is the last image ID of the previous page; TF stops at an empty page). Filters IMS documents
but the emulator cannot judge (`flavor_id`, `min_disk`, `min_ram`) and unknown parameters are ignored.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ims_provider.emulator.errors import bad_request
from ims_provider.emulator.members import MEMBER_STATUSES
from ims_provider.emulator.validation import ARCHITECTURES, DIGITS_RE

DEFAULT_LIMIT = 500  # SDK, OTC, HW: "default 500"
MAX_LIMIT = 1000  # no source gives one for this API; the member list caps at 1000 (inferred)
IMAGE_TYPES = ("gold", "private", "shared", "market")
VISIBILITIES = ("public", "private", "shared")
SORT_KEYS = ("name", "container_format", "disk_format", "status", "id", "size", "created_at")
TIME_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S")
# Compared with the image's attribute of the same name, as a string.
EXACT_FILTERS = (
    "id", "name", "status", "owner", "visibility", "__imagetype", "virtual_env_type", "disk_format",
    "container_format", "__os_type", "__platform", "__os_version", "__os_bit", "__isregistered",
    "__whole_image", "__system__cmkid", "protected",
)  # fmt: skip
CHOICES = {
    "__imagetype": IMAGE_TYPES,
    "visibility": VISIBILITIES,
    "member_status": MEMBER_STATUSES,
    "architecture": ARCHITECTURES,
    "sort_dir": ("asc", "desc"),
    "sort_key": SORT_KEYS,
}


@dataclass(frozen=True)
class Listed:
    """One image a caller can see, as it sees it, with what the filters need besides the body."""

    body: dict[str, Any]
    seq: int  # creation order
    tags: Mapping[str, str]
    relation: str  # owner | member | public | outsider (see BackendCore._relation)
    member_status: str | None = None


@dataclass(frozen=True)
class ListQuery:
    exact: dict[str, str] = field(default_factory=dict)
    member_status: str | None = None
    architecture: str | None = None
    enterprise_project_id: str | None = None
    tags: tuple[str, ...] = ()
    times: tuple[tuple[str, Callable[[Any, Any], bool], datetime], ...] = ()
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    limit: int = DEFAULT_LIMIT
    marker: str | None = None


def _time(value: str, key: str) -> tuple[Callable[[Any, Any], bool], datetime]:
    """`<op>:<UTC time>` (e.g. `gt:2018-10-28T10:00:00Z`)."""
    op, sep, text = value.partition(":")
    if not sep or op not in TIME_OPS:
        raise bad_request("IMG.0001", f"{key} must be <op>:<time> with op one of {', '.join(TIME_OPS)}.")
    for fmt in TIME_FORMATS:
        try:
            return TIME_OPS[op], datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise bad_request("IMG.0001", f"{key}: the time must be yyyy-MM-ddThh:mm:ssZ or yyyy-MM-dd hh:mm:ss.")


def parse_query(args: Mapping[str, Sequence[str]]) -> ListQuery:
    """The query string (each key with its values) as a ListQuery; IMG.0001 for a malformed value."""
    first = {key: values[0] for key, values in args.items() if values}
    for key, choices in CHOICES.items():
        if key in first and first[key] not in choices:
            raise bad_request("IMG.0001", f"{key} must be one of {', '.join(choices)}.")
    member_status = first.get("member_status")
    if member_status is not None and first.get("visibility") != "shared":
        raise bad_request("IMG.0001", "member_status must be used together with visibility=shared.")
    limit = first.get("limit")
    if limit is not None and (not DIGITS_RE.fullmatch(limit) or not 1 <= int(limit) <= MAX_LIMIT):
        raise bad_request("IMG.0001", f"limit must be an integer between 1 and {MAX_LIMIT}.")
    ep = first.get("enterprise_project_id")
    times = tuple((key, *_time(first[key], key)) for key in ("created_at", "updated_at") if key in first)
    return ListQuery(
        exact={key: first[key] for key in EXACT_FILTERS if key in first}
        | {key: value for key, value in first.items() if key.startswith("__support_")},
        member_status=member_status,
        architecture=first.get("architecture"),
        enterprise_project_id=None if ep == "all_granted_eps" else ep,
        tags=tuple(args.get("tag", ())),
        times=times,
        sort_key=first.get("sort_key", "created_at"),
        sort_dir=first.get("sort_dir", "desc"),
        limit=int(limit) if limit is not None else DEFAULT_LIMIT,
        marker=first.get("marker"),
    )


def _listed_by_default(entry: Listed, query: ListQuery) -> bool:
    """Shared images are listed by the member's answer: the accepted ones unless member_status asks for
    another (ims-api-more.md §3.2: accepted ones appear in the list, rejected ones disappear)."""
    if query.member_status is not None:
        return entry.relation == "member" and entry.member_status == query.member_status
    return entry.relation != "member" or entry.member_status == "accepted"


def _has_tag(tags: Mapping[str, str], wanted: str) -> bool:
    """`tag=key=value` (the form IMS queries tags in), or `tag=key` for any value (inferred)."""
    key, sep, value = wanted.partition("=")
    return key in tags and (not sep or tags[key] == value)


def _stamp(text: object) -> datetime | None:
    try:
        return datetime.strptime(str(text), TIME_FORMATS[0]).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _matches(entry: Listed, query: ListQuery) -> bool:
    body = entry.body
    if not _listed_by_default(entry, query):
        return False
    for key, wanted in query.exact.items():
        value = body.get(key)
        if isinstance(value, bool):  # `protected`: true/false, in any case (the SDK sends True/False)
            value, wanted = str(value).lower(), wanted.lower()
        if value is None or str(value) != wanted:
            return False
    if query.architecture is not None:
        arm = body.get("__support_arm") == "true"
        if arm != (query.architecture == "arm"):
            return False
    if (
        query.enterprise_project_id is not None
        and body.get("enterprise_project_id") != query.enterprise_project_id
    ):
        return False
    if not all(_has_tag(entry.tags, wanted) for wanted in query.tags):
        return False
    for key, compare, when in query.times:
        stamp = _stamp(body.get(key))
        if stamp is None or not compare(stamp, when):
            return False
    return True


def _sort_value(entry: Listed, key: str) -> Any:
    if key == "created_at":
        return entry.seq  # creation order: finer than the second-resolution created_at
    if key == "size":
        return int(entry.body.get("size") or 0)
    return str(entry.body.get(key) or "")


def select(entries: Sequence[Listed], query: ListQuery) -> list[dict[str, Any]]:
    """Filter, sort (ties keep the newest first), then page after the marker."""
    found = sorted((e for e in entries if _matches(e, query)), key=lambda e: e.seq, reverse=True)
    found.sort(key=lambda e: _sort_value(e, query.sort_key), reverse=query.sort_dir == "desc")
    if query.marker is not None:
        ids = [e.body["id"] for e in found]
        if query.marker not in ids:
            raise bad_request("IMG.0001", f"The marker {query.marker} does not match any image.")
        found = found[ids.index(query.marker) + 1 :]
    return [e.body for e in found[: query.limit]]
