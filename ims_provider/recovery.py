"""Finding, adopting and claiming the images a create request may already have made.

IMS answers a create with a job ID only, and the Python dynamic host keeps no partial state: if the answer
is lost (a dropped connection after the request was sent), the host is killed mid-wait, or the create
deadline passes, the image can still be born while no state records it. Re-submitting would make a second
image; forgetting would leak the first. So before submitting, and after any ambiguous failure, the provider
looks for an image this very request may have made, and adopts it.

The request body must stay exactly what the user asked for, so nothing can be marked in it. An image is taken
for an earlier attempt only if it agrees with the request in everything IMS shows: name, source, kind and
owner first, then every input IMS stores as given (:class:`~ims_provider.model.expected.Expected`; tags as
key/value pairs from the tag API). One that matches name and source but differs elsewhere is left alone and
named in a warning. Once a create has finished, it *claims* its images (a custom attribute on a system image;
a tag on a data image, which IMS refuses to PATCH, ``IMG.0168``), valued with the resource ID. Claimed images
are never adopted, so two resources with identical inputs still get two images. A copy counts only a claim
valued with its own ID (:attr:`Expected.own_claim_only`): one it took from its source is not its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ims_provider.client import ImsClient
from ims_provider.errors import ImsApiError, ImsProviderError
from ims_provider.model.expected import Expected, RequestShape
from ims_provider.model.live import CLAIM_ATTRIBUTE, CLAIM_TAG, DATA_IMAGE_TYPE, KIND_KEY, LiveImage
from ims_provider.model.schema import Difference
from ims_provider.model.tags import tag_map

__all__ = [
    "CLAIM_ATTRIBUTE",
    "CLAIM_TAG",
    "ClaimError",
    "Found",
    "Leftover",
    "Search",
    "claim_images",
    "find_earlier",
    "look_up",
    "matching",
    "siblings_of",
]

_STATUS_RANK = {"active": 0, "saving": 1, "queued": 2}
# Data images of one request are made by sub-jobs of one job; further apart than this they are not siblings.
SIBLING_WINDOW = 1800.0


def look_up(client: ImsClient, image: LiveImage) -> LiveImage:
    """The image with its tags, from the tag API (the only reading of tags that keeps dotted keys whole)."""
    return image.with_tags(tag_map(client.list_tags(image.id)))


# --- claims -------------------------------------------------------------------------------------------


class ClaimError(ImsProviderError):
    """The images were made but could not be marked as tracked; a re-run with the same inputs adopts them."""


def claim_images(client: ImsClient, primary: LiveImage, extras: Sequence[LiveImage]) -> list[str]:
    """Mark the images as tracked by the resource ``primary.id``; returns notes about claims that did not
    fit. The primary is claimed last: until then a re-run still finds the whole set."""
    owner = primary.id
    notes: list[str] = []
    for image in [*extras, primary]:
        try:
            if image.is_data_image:
                notes += _claim_by_tag(client, image.id, owner)
            else:
                try:
                    client.update_image(
                        image.id, [{"op": "add", "path": f"/{CLAIM_ATTRIBUTE}", "value": owner}]
                    )
                except ImsApiError as exc:
                    if exc.code != "IMG.0168":  # "data-disk images cannot be updated": tag it instead
                        raise
                    notes += _claim_by_tag(client, image.id, owner)
        except ImsProviderError as exc:
            raise ClaimError(
                f"image {image.id} was made, but marking it as tracked by this resource failed ({exc}). "
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

    primary: LiveImage
    extras: tuple[LiveImage | None, ...]
    others: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return all(e is not None for e in self.extras)

    def ids(self) -> list[str]:
        return [self.primary.id] + [e.id for e in self.extras if e is not None]


@dataclass(frozen=True)
class Leftover:
    """An unclaimed image with the request's name and source that differs elsewhere: not this request's."""

    image: LiveImage
    differences: tuple[Difference, ...]

    def describe(self) -> str:
        return (
            f"image {self.image.id} ({self.image.name!r}, {self.image.origin}) has this request's name and "
            f"source but differs in {'; '.join(d.describe() for d in self.differences)}"
        )


@dataclass(frozen=True)
class Search:
    """The outcome of one look for an earlier attempt."""

    found: Found | None
    leftovers: tuple[Leftover, ...] = ()


def matching(
    client: ImsClient, expected: Expected, exclude: Sequence[str]
) -> tuple[list[LiveImage], list[Leftover]]:
    """Unclaimed live images that agree with ``expected`` in every attribute IMS reports, and those that
    agree in name and source only."""
    project = client.project_id
    filters = {"owner": project}
    if expected.name:
        filters["name"] = expected.name
    if expected.data_image:
        filters[KIND_KEY] = DATA_IMAGE_TYPE
    agree: list[LiveImage] = []
    differ: list[Leftover] = []
    for raw in client.list_images(**filters):
        image = LiveImage(raw)
        if image.id in exclude or not expected.candidate(image, project):
            continue
        image = look_up(client, image)
        if expected.claimed(image):
            continue
        differences = expected.differences(image)
        if differences:
            differ.append(Leftover(image, tuple(differences)))
        else:
            agree.append(image)
    return agree, differ


def find_earlier(client: ImsClient, shape: RequestShape, *, exclude: Sequence[str] = ()) -> Search:
    """The unclaimed images an earlier attempt of this request made (or None), and the unclaimed images that
    share its name and source but differ elsewhere (not ours: never adopted).

    Of several agreeing primaries the most advanced (active, then saving, then queued; newest first) is taken.
    Data images are matched like the primary, unclaimed or already claimed for that primary (a claim
    interrupted half-way), and nearest in creation time to it.
    """
    primaries, leftovers = matching(client, shape.primary, exclude)
    if not primaries:
        return Search(None, tuple(leftovers))
    primaries.sort(key=lambda img: (_STATUS_RANK.get(img.status, 9), -img.created))
    primary = primaries[0]
    others = tuple(img.id for img in primaries[1:])
    return Search(
        Found(primary, siblings_of(client, shape, primary, exclude=exclude), others), tuple(leftovers)
    )


def siblings_of(
    client: ImsClient, shape: RequestShape, primary: LiveImage, *, exclude: Sequence[str] = ()
) -> tuple[LiveImage | None, ...]:
    """The data images of ``primary``'s request, in request order (None where none agrees)."""
    taken = {primary.id, *exclude}
    extras: list[LiveImage | None] = []
    for expected in shape.extras:
        siblings = [
            img
            for img in _candidates_for_sibling(client, expected, primary)
            if img.id not in taken and abs(img.created - primary.created) <= SIBLING_WINDOW
        ]
        siblings.sort(key=lambda img: abs(img.created - primary.created))
        pick = siblings[0] if siblings else None
        if pick is not None:
            taken.add(pick.id)
        extras.append(pick)
    return tuple(extras)


def _candidates_for_sibling(client: ImsClient, expected: Expected, primary: LiveImage) -> list[LiveImage]:
    project = client.project_id
    filters = {"owner": project, KIND_KEY: DATA_IMAGE_TYPE}
    if expected.name:
        filters["name"] = expected.name
    found = []
    for raw in client.list_images(**filters):
        image = LiveImage(raw)
        if not expected.candidate(image, project):
            continue
        image = look_up(client, image)
        if image.claim in (None, primary.id) and not expected.differences(image):
            found.append(image)
    return found
