"""What creating an image and looking after one share, so both wait, report and build outputs alike.

:class:`ImageOperations` holds the client, clock and output of one provider instance and the helpers that
:mod:`ims_provider.create` and :mod:`ims_provider.upkeep` both need. :func:`is_transient` decides which errors
a wait outlives; :data:`JOB`, :data:`ACTIVE` and :data:`GONE` are the IMS specs with it built in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ims_provider import recovery
from ims_provider.client import ImsClient
from ims_provider.errors import ImsProviderError
from ims_provider.jobs import IMAGE_ACTIVE, IMAGE_GONE, JOB_DONE
from ims_provider.model.live import LiveImage
from ims_provider.model.private_image import DATA, PRIVATE_IMAGE, detect_path
from ims_provider.progress import ProgressReporter
from ims_provider.retry import outlives_waits
from ims_provider.waiter import Clock, PollEvent, WaitSpec, wait

__all__ = ["ACTIVE", "GONE", "JOB", "ImageOperations", "ImageRecord", "is_transient"]

T = TypeVar("T")


is_transient = outlives_waits  # errors a wait outlives until its deadline: ims_provider.retry.POLICY says

JOB = JOB_DONE.with_transient(is_transient)
ACTIVE = IMAGE_ACTIVE.with_transient(is_transient)
GONE = IMAGE_GONE.with_transient(is_transient)


@dataclass(frozen=True)
class ImageRecord:
    """The result of create or read: the resource ID and the outputs to store."""

    id: str
    outputs: dict[str, Any]


class ImageOperations:
    """One thread-safe client, a clock and where notes go; all per-call state lives in locals."""

    def __init__(
        self, client: ImsClient, *, clock: Clock, write: Callable[[str], None], progress: bool
    ) -> None:
        self.client = client
        self.clock = clock
        self.write = write
        self.progress = progress

    def _reporter(self, label: str) -> ProgressReporter:
        return ProgressReporter(label, write=self.write, clock=self.clock, enabled=self.progress)

    def _wait(
        self,
        spec: WaitSpec[T],
        fetch: Callable[[], T],
        deadline: float,
        what: str,
        observer: Callable[[PollEvent[T]], None] | None = None,
    ) -> T:
        """:func:`wait` for the time left before ``deadline`` (once it has passed: one last look)."""
        return wait(
            spec,
            fetch,
            timeout=max(0.0, deadline - self.clock.monotonic()),
            clock=self.clock,
            observer=observer,
            what=what,
        )

    def _settled_image(
        self, image_id: str, deadline: float, what: str, *, listing_grace: float = 0.0
    ) -> LiveImage | None:
        """The image once it is active or killed; None once it is gone. For ``listing_grace`` seconds an
        image that is not listed yet counts as still being made (IMS's list may lag the job's report)."""
        unlisted_since: list[float] = []

        def fetch() -> dict[str, Any] | None:
            image = self.client.get_image(image_id)
            if image is None and listing_grace > 0:
                now = self.clock.monotonic()
                unlisted_since[:] = unlisted_since or [now]
                if now - unlisted_since[0] < listing_grace:
                    return {"id": image_id, "status": "queued"}
            return image

        found = self._wait(ACTIVE, fetch, deadline, what)
        return None if found is None else LiveImage(found)

    def _fresh(self, image_id: str, *, tags: bool) -> LiveImage:
        """The image as IMS has it now (with its tags from the tag API when ``tags``)."""
        raw = self.client.get_image(image_id)
        if raw is None:
            raise ImsProviderError(f"image {image_id} disappeared while it was being changed")
        image = LiveImage(raw)
        return recovery.look_up(self.client, image) if tags else image

    def _outputs(
        self,
        inputs: Mapping[str, Any],
        image: LiveImage,
        job_id: str | None,
        data_ids: Sequence[str],
    ) -> dict[str, Any]:
        """State from the applied inputs and the live image (which carries its tags when the resource's own
        tags are the image's: not when it is a data-images-only resource, whose tags are its entries')."""
        return PRIVATE_IMAGE.state(inputs, image, {"job_id": job_id, "data_image_ids": list(data_ids)})

    @staticmethod
    def _tags_are_top_level(inputs: Mapping[str, Any]) -> bool:
        path = detect_path(inputs)[0]
        return path is None or path.name != DATA
