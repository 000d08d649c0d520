"""Finding, adopting and claiming the images a create request may already have made.

IMS answers a create with a job ID only, and the Python dynamic host keeps no partial state: if the answer
is lost (a dropped connection after the request was sent), the host is killed mid-wait, or the create
deadline passes, the image can still be born while no state records it. Re-submitting would make a second
image; forgetting would leak the first. So before submitting, and after any ambiguous failure, the provider
looks for an image this very request may have made, and adopts it.

The request body must stay exactly what the user asked for, so nothing can be marked in it. What IMS does
show on every image is enough to recognise the request's images: the name, the source (``__data_origin``:
``instance,<ecs>``, ``volume,<volume>``, ``file,<bucket:object>``), system or data image, the owner, and a
live status. The missing piece is "is somebody already tracking this image?": once a create has finished,
it *claims* its images, with the custom attribute ``ims_provider_claim`` (system images; IMS allows
lower-case custom attributes) or, because IMS refuses to PATCH data images (``IMG.0168``), the tag
``ims-provider-claim``. The claim's value is the resource ID (the primary image's ID), which ties a resource's
data images to it. Claimed images are never adopted, so two resources with identical inputs still get two
images.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ims_provider.client import ImsClient
from ims_provider.errors import ImsApiError, ImsProviderError

__all__ = [
    "CLAIM_ATTRIBUTE",
    "CLAIM_TAG",
    "LIVE_STATUSES",
    "ClaimError",
    "Expected",
    "Found",
    "RequestShape",
    "claim_images",
    "claim_of",
    "exclusive",
    "find_earlier",
    "shape_of",
    "siblings_of",
]

CLAIM_ATTRIBUTE = "ims_provider_claim"
CLAIM_TAG = "ims-provider-claim"
LIVE_STATUSES = ("queued", "saving", "active")
_STATUS_RANK = {"active": 0, "saving": 1, "queued": 2}
# Data images of one request are made by sub-jobs of one job; further apart than this they are not siblings.
SIBLING_WINDOW = 1800.0


def _whole(value: Any) -> int:
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return -1


def _tag_set(tags: Any) -> frozenset[tuple[str, str]]:
    """Tags as comparable pairs, from "key.value" strings or ``{key, value}`` pairs; the claim tag aside."""
    pairs: set[tuple[str, str]] = set()
    for tag in tags or []:
        if isinstance(tag, str):
            key, _, value = tag.partition(".")
        elif isinstance(tag, Mapping):
            key, value = str(tag.get("key", "")), str(tag.get("value", ""))
        else:
            continue
        if key.strip() != CLAIM_TAG:
            pairs.add((key.strip(), value.strip()))
    return frozenset(pairs)


@dataclass(frozen=True)
class Attributes:
    """What a request sets that IMS shows on the image: an earlier attempt must agree on all of it, so an
    image made another way (by hand, by another tool) is not mistaken for one merely by name and source."""

    description: str
    min_ram: int
    max_ram: int
    tags: frozenset[tuple[str, str]]

    @classmethod
    def of_request(cls, part: Mapping[str, Any]) -> Attributes:
        given = part.get("tags") if part.get("tags") is not None else part.get("image_tags")
        return cls(
            str(part.get("description") or ""),
            _whole(part.get("min_ram")),
            _whole(part.get("max_ram")),
            _tag_set(given),
        )

    @classmethod
    def of_image(cls, image: Mapping[str, Any]) -> Attributes:
        return cls(
            str(image.get("__description") or ""),
            _whole(image.get("min_ram")),
            _whole(image.get("max_ram")),
            _tag_set(image.get("tags")),
        )


@dataclass(frozen=True)
class Expected:
    """What one image of a request looks like on IMS."""

    name: str | None  # None: IMS picks the name (an OBS data file without one)
    origin: str  # __data_origin
    data_image: bool  # virtual_env_type DataImage
    attributes: Attributes | None = None  # None: not compared (tests that only know name and source)

    def matches(self, image: Mapping[str, Any], project: str) -> bool:
        return (
            (self.name is None or image.get("name") == self.name)
            and image.get("__data_origin") == self.origin
            and (image.get("virtual_env_type") == "DataImage") == self.data_image
            and image.get("owner") in (None, "", project)
            and str(image.get("status", "")).lower() in LIVE_STATUSES
            and (self.attributes is None or Attributes.of_image(image) == self.attributes)
        )

    @property
    def key(self) -> str:
        """Two requests expecting images of the same key could adopt each other's: they must not overlap."""
        return f"{self.name}\x00{self.origin}\x00{self.data_image}"

    def describe(self) -> str:
        kind = "data image" if self.data_image else "image"
        named = f" {self.name!r}" if self.name else ""
        return f"{kind}{named} from {self.origin}"


@dataclass(frozen=True)
class RequestShape:
    """The images one create body makes: the primary (the resource's ID) and its data images, in order."""

    primary: Expected
    extras: tuple[Expected, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every image key of the request, sorted, so that locks on them are always taken in one order."""
        return tuple(sorted({e.key for e in (self.primary, *self.extras)}))


def _item_expected(item: Mapping[str, Any]) -> Expected:
    name = str(item["name"]) if item.get("name") else None
    attributes = Attributes.of_request(item)
    if item.get("volume_id"):
        return Expected(name, f"volume,{item['volume_id']}", True, attributes)
    return Expected(name, f"file,{item.get('image_url', '')}", True, attributes)


def shape_of(body: Mapping[str, Any]) -> RequestShape:
    """The images ``body`` (a checked ``POST /v2/cloudimages/action`` body) makes."""
    items = [_item_expected(i) for i in body.get("data_images") or [] if isinstance(i, Mapping)]
    name = str(body["name"]) if body.get("name") else None
    attributes = Attributes.of_request(body)
    if body.get("instance_id"):
        primary = Expected(name, f"instance,{body['instance_id']}", False, attributes)
    elif body.get("image_url"):
        primary = Expected(name, f"file,{body['image_url']}", False, attributes)
    elif body.get("volume_id"):
        primary = Expected(name, f"volume,{body['volume_id']}", False, attributes)
    elif items:
        primary, items = items[0], items[1:]
    else:
        raise ImsProviderError("the create request names no image source")
    return RequestShape(primary, tuple(items))


# --- claims -------------------------------------------------------------------------------------------


def _tag_claim(tags: Any) -> str | None:
    """The claim in an image's ``tags`` field ("key.value" strings) or a tag API list of pairs."""
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith(CLAIM_TAG + "."):
            return tag[len(CLAIM_TAG) + 1 :] or CLAIM_TAG
        if isinstance(tag, Mapping) and tag.get("key") == CLAIM_TAG:
            return str(tag.get("value") or CLAIM_TAG)
    return None


def claim_of(image: Mapping[str, Any], tags: Sequence[Mapping[str, str]] | None = None) -> str | None:
    """Who tracks ``image`` (a resource ID), or None when nobody has claimed it."""
    attribute = image.get(CLAIM_ATTRIBUTE)
    if attribute:
        return str(attribute)
    return _tag_claim(tags) or _tag_claim(image.get("tags"))


class ClaimError(ImsProviderError):
    """The images were made but could not be marked as tracked; a re-run with the same inputs adopts them."""


def claim_images(
    client: ImsClient, primary: Mapping[str, Any], extras: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Mark the images as tracked by the resource ``primary['id']``; returns notes about claims that did
    not fit. The primary is claimed last: until then a re-run still finds the whole set."""
    owner = str(primary["id"])
    notes: list[str] = []
    for image in [*extras, primary]:
        image_id = str(image["id"])
        try:
            if image.get("virtual_env_type") == "DataImage":
                notes += _claim_by_tag(client, image_id, owner)
            else:
                try:
                    client.update_image(
                        image_id, [{"op": "add", "path": f"/{CLAIM_ATTRIBUTE}", "value": owner}]
                    )
                except ImsApiError as exc:
                    if exc.code != "IMG.0168":  # "data-disk images cannot be updated": tag it instead
                        raise
                    notes += _claim_by_tag(client, image_id, owner)
        except ImsProviderError as exc:
            raise ClaimError(
                f"image {image_id} was made, but marking it as tracked by this resource failed ({exc}). "
                "Run `pulumi up` again with the same inputs: the provider will find and adopt it."
            ) from None
    return notes


def _claim_by_tag(client: ImsClient, image_id: str, owner: str) -> list[str]:
    try:
        client.tags_action(image_id, "create", [{"key": CLAIM_TAG, "value": owner}])
    except ImsApiError as exc:
        if exc.code != "IMG.0116":  # tag quota: the user's own tags fill all 10 places
            raise
        return [
            f"data image {image_id} already has 10 tags, so it could not be tagged {CLAIM_TAG}; "
            "another resource with the same inputs could adopt it while this one's create is interrupted"
        ]
    return []


# --- finding an earlier attempt ---------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """An earlier attempt's images: the primary, its data images in request order (None = not found),
    and matching images that were left alone because another candidate was taken."""

    primary: dict[str, Any]
    extras: tuple[dict[str, Any] | None, ...]
    others: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return all(e is not None for e in self.extras)

    def ids(self) -> list[str]:
        return [str(self.primary["id"])] + [str(e["id"]) for e in self.extras if e is not None]


def _created(image: Mapping[str, Any]) -> float:
    text = str(image.get("created_at") or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _candidates(client: ImsClient, expected: Expected) -> list[dict[str, Any]]:
    project = client.project_id
    filters = {"owner": project}
    if expected.name:
        filters["name"] = expected.name
    if expected.data_image:
        filters["virtual_env_type"] = "DataImage"
    return [img for img in client.list_images(**filters) if expected.matches(img, project)]


def _claim(client: ImsClient, image: Mapping[str, Any]) -> str | None:
    """Claims of system images are attributes (in the listing); data images are asked for their tags."""
    found = claim_of(image)
    if found is not None or image.get("virtual_env_type") != "DataImage":
        return found
    return claim_of(image, client.list_tags(str(image["id"])))


def find_earlier(client: ImsClient, shape: RequestShape, *, exclude: Sequence[str] = ()) -> Found | None:
    """The unclaimed images an earlier attempt of this request made, or None.

    Of several unclaimed primaries the most advanced (active, then saving, then queued; newest first) is
    taken. Data images are matched by name and source, unclaimed or already claimed for that primary (a
    claim interrupted half-way), and nearest in creation time to the primary.
    """
    primaries = [
        img
        for img in _candidates(client, shape.primary)
        if str(img["id"]) not in exclude and _claim(client, img) is None
    ]
    if not primaries:
        return None
    primaries.sort(key=lambda img: (_STATUS_RANK.get(str(img.get("status")).lower(), 9), -_created(img)))
    primary = primaries[0]
    others = tuple(str(img["id"]) for img in primaries[1:])
    return Found(primary, siblings_of(client, shape, primary, exclude=exclude), others)


def siblings_of(
    client: ImsClient, shape: RequestShape, primary: Mapping[str, Any], *, exclude: Sequence[str] = ()
) -> tuple[dict[str, Any] | None, ...]:
    """The data images of ``primary``'s request, in request order (None where none matches)."""
    taken = {str(primary["id"]), *exclude}
    extras: list[dict[str, Any] | None] = []
    for expected in shape.extras:
        siblings = [
            img
            for img in _candidates(client, expected)
            if str(img["id"]) not in taken
            and abs(_created(img) - _created(primary)) <= SIBLING_WINDOW
            and _claim(client, img) in (None, str(primary["id"]))
        ]
        siblings.sort(key=lambda img: abs(_created(img) - _created(primary)))
        pick = siblings[0] if siblings else None
        if pick is not None:
            taken.add(str(pick["id"]))
        extras.append(pick)
    return tuple(extras)


# --- one create per image key at a time --------------------------------------------------------------


class _KeyedLocks:
    """Per-key locks that disappear when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            acquired = lock.acquire(timeout=max(timeout, 0.0))
            try:
                yield acquired
            finally:
                if acquired:
                    lock.release()
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


_LOCKS = _KeyedLocks()


@contextmanager
def exclusive(shape: RequestShape, timeout: float) -> Iterator[bool]:
    """Serialise creates that expect an image of the same key (primary or data image) in this process (the
    host runs 4 at once): otherwise one could adopt an image another has just submitted. Locks are taken in
    sorted order, so two requests never wait for each other. Yields False if they were not had in time."""
    deadline = time.monotonic() + max(timeout, 0.0)
    with ExitStack() as held:
        for key in shape.keys:
            if not held.enter_context(_LOCKS.hold(key, deadline - time.monotonic())):
                yield False
                return
        yield True
