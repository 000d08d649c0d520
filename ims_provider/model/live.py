"""A read-only view of one image as IMS lists it, so no module parses an image body on its own.

``GET /v2/cloudimages`` answers with loosely typed objects: ``max_ram`` is a string, ``status`` may come in
any case, the source hides in ``__data_origin`` ("instance,<ecs>", "volume,<disk>", "file,<bucket:object>")
and a data image is told apart only by ``virtual_env_type``. :class:`LiveImage` reads each of these once;
its tags, when fetched, come from the tag API as key/value pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ORIGIN_KEY = "__data_origin"  # where an image shows its source: "instance,<ecs>", "volume,<id>", "file,<url>"
KIND_KEY = "virtual_env_type"  # FusionCompute, Ironic, IsoImage, or DataImage
DATA_IMAGE_TYPE = "DataImage"
LIVE_STATUSES = ("queued", "saving", "active")
# Custom attribute (system images) and tag (data images: IMS refuses to PATCH them) that mark a tracked image.
CLAIM_ATTRIBUTE = "ims_provider_claim"
CLAIM_TAG = "ims-provider-claim"


def status_of(image: Mapping[str, Any] | None) -> str:
    """An image's status, lower-case; "" when there is none (and for no image at all)."""
    status = image.get("status") if image is not None else None
    return status.strip().lower() if isinstance(status, str) else ""


def origin(kind: str, source: str) -> str:
    """``__data_origin`` of an image made from ``source`` of ``kind`` (instance, volume or file)."""
    return f"{kind},{source}"


def text(value: Any) -> str | None:
    """A string attribute; absent, null and "" all mean "not set"."""
    if value is None or value == "":
        return None
    return str(value)


def timestamp(value: Any) -> float:
    """An IMS time ("2018-09-06T14:03:27Z" or with milliseconds) as epoch seconds; 0 when unreadable."""
    try:
        return datetime.fromisoformat(str(value or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class LiveImage:
    """One listed image; ``tags`` is the tag API's answer (None when it was not asked for)."""

    raw: Mapping[str, Any]
    tags: Mapping[str, str] | None = None

    @property
    def id(self) -> str:
        return str(self.raw.get("id") or "")

    @property
    def name(self) -> str | None:
        return text(self.raw.get("name"))

    @property
    def status(self) -> str:
        return status_of(self.raw)

    @property
    def live(self) -> bool:
        """Being made or usable: an image an earlier attempt may still be making."""
        return self.status in LIVE_STATUSES

    @property
    def gone(self) -> bool:
        return self.status == "deleted"

    @property
    def is_data_image(self) -> bool:
        return self.raw.get(KIND_KEY) == DATA_IMAGE_TYPE

    @property
    def origin(self) -> str | None:
        return text(self.raw.get(ORIGIN_KEY))

    @property
    def owner(self) -> str | None:
        return text(self.raw.get("owner"))

    @property
    def created(self) -> float:
        return timestamp(self.raw.get("created_at"))

    @property
    def private(self) -> bool:
        """A private image, as its owner sees it. An owner's image that has members is listed with
        ``__imagetype: shared`` but stays ``visibility: private`` (OTC "Querying Images": use ``owner`` to
        tell the images you share from those shared with you); a member sees ``visibility: shared``."""
        return self.raw.get("visibility") in (None, "private") and self.raw.get("__imagetype") in (
            None,
            "private",
            "shared",
        )

    @property
    def kind(self) -> str:
        """What a message calls it: private, shared (with this project), public (gold), market, ..."""
        if self.raw.get("visibility") == "shared":
            return "shared"
        return str(self.raw.get("__imagetype") or self.raw.get("visibility") or "unknown")

    @property
    def claim(self) -> str | None:
        """The resource ID that tracks this image (attribute, or claim tag when tags were fetched)."""
        attribute = text(self.raw.get(CLAIM_ATTRIBUTE))
        if attribute is not None:
            return attribute
        if self.tags is not None and CLAIM_TAG in self.tags:
            return self.tags[CLAIM_TAG] or CLAIM_TAG
        return None

    def attribute(self, key: str) -> Any:
        return self.raw.get(key)

    def user_tags(self) -> dict[str, str]:
        """The fetched tags without the provider's own claim tag (never the user's to see or remove)."""
        return {k: v for k, v in (self.tags or {}).items() if k != CLAIM_TAG}

    def with_tags(self, tags: Mapping[str, str]) -> LiveImage:
        return LiveImage(self.raw, dict(tags))
