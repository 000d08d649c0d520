"""What one image of a request looks like on IMS, so an image can be recognised as (not) made by it.

After an interrupted create the provider looks for the image the request may already have made
(:mod:`ims_provider.recovery`); after a job that reported fewer images than it was asked for, it looks for the
missing ones. Both recognise an image by its name, its source and its kind, and then by every input IMS stores
as given (:meth:`~ims_provider.model.schema.ResourceSchema.differences`): an image that differs anywhere was
not made by this request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ims_provider.model.live import LiveImage
from ims_provider.model.schema import Difference, ResourceSchema


@dataclass(frozen=True)
class Comparison:
    """Compare ``request`` (the part of the program that makes the image) as ``schema`` declares it on
    ``path``; ``only`` limits it to some fields (a data image shares a few of its request's top-level
    ones)."""

    schema: ResourceSchema = field(repr=False)
    path: str
    request: Mapping[str, Any]
    only: frozenset[str] | None = None

    def differences(self, live: LiveImage) -> list[Difference]:
        skip = () if self.only is None else [n for n in self.schema.input_names if n not in self.only]
        return self.schema.differences(self.request, live, self.path, skip=self._reported_keys(skip))

    def _reported_keys(self, names: Sequence[str]) -> list[str]:
        keys = []
        for name in names:
            reported = self.schema.field(name).reported
            if reported is not None:
                keys.append(reported.key)
        return keys


@dataclass(frozen=True)
class Expected:
    """One image a request makes: its name (None: IMS names it), the attribute that shows its source and
    that attribute's value, whether it is a data image, and what else must agree.

    ``own_claim_only``: only a claim that names the image itself marks it as another resource's. A copy is
    claimed with its own ID, and may carry its source's claim (IMS does not say whether a copy takes custom
    attributes and tags): that one is not the copy's, so it does not keep an interrupted copy from being
    adopted."""

    name: str | None
    source_key: str
    source: str
    data_image: bool | None  # None: either (a copy is of the kind of its source)
    comparisons: tuple[Comparison, ...] = ()
    own_claim_only: bool = False

    def candidate(self, live: LiveImage, project: str) -> bool:
        """Name, source, kind, owner and a live status: worth comparing in full."""
        return (
            (self.name is None or live.name == self.name)
            and live.attribute(self.source_key) == self.source
            and (self.data_image is None or live.is_data_image == self.data_image)
            and live.owner in (None, project)
            and live.live
        )

    def claimed(self, live: LiveImage) -> bool:
        """Marked as tracked by a resource (so never adopted): by any claim, or with ``own_claim_only`` by
        one valued with the image's own ID."""
        claim = live.claim
        return claim is not None and (not self.own_claim_only or claim == live.id)

    def differences(self, live: LiveImage) -> list[Difference]:
        found: list[Difference] = []
        for comparison in self.comparisons:
            found += [d for d in comparison.differences(live) if d.field not in {f.field for f in found}]
        return found

    @property
    def key(self) -> str:
        """Two requests expecting images of the same key could adopt each other's: they must not overlap."""
        return f"{self.name}\x00{self.source}\x00{self.data_image}"

    def describe(self) -> str:
        kind = "data image" if self.data_image else "image"
        named = f" {self.name!r}" if self.name else ""
        return f"{kind}{named} from {self.source}"


@dataclass(frozen=True)
class RequestShape:
    """The images one request makes: the primary (the resource's ID) and its data images, in order."""

    primary: Expected
    extras: tuple[Expected, ...]
    sources: tuple[str, ...] = ()  # what IMS images one job at a time: "ECS <id>", "disk <id>"

    @property
    def all(self) -> tuple[Expected, ...]:
        return (self.primary, *self.extras)

    @property
    def keys(self) -> tuple[str, ...]:
        """Every image key and busy source of the request, sorted, so that locks on them are always taken in
        one order."""
        return tuple(sorted({e.key for e in self.all} | set(self.sources)))
