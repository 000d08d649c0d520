"""What creating an image and looking after one share, so both wait, report and build outputs alike.

:class:`ImageOperations` holds the client, clock and output of one provider instance and the helpers that
:mod:`ims_provider.create` and :mod:`ims_provider.upkeep` both need. :func:`is_transient` decides which errors
a wait outlives; :data:`JOB`, :data:`ACTIVE` and :data:`GONE` are the IMS specs with it built in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ims_provider import recovery
from ims_provider.client import ImsClient
from ims_provider.console import write_line
from ims_provider.errors import ImsApiError, ImsProviderError, JobNotFoundError, WaitTimeoutError
from ims_provider.jobs import IMAGE_ACTIVE, IMAGE_GONE, JOB_DONE, job_image_ids
from ims_provider.model.live import LiveImage
from ims_provider.model.private_image import DATA, PRIVATE_IMAGE, detect_path
from ims_provider.model.tags import api_pairs
from ims_provider.progress import ProgressReporter
from ims_provider.retry import ErrorClass, error_class_of, outlives_waits
from ims_provider.waiter import SYSTEM_CLOCK, Clock, PollEvent, WaitSpec, wait

__all__ = [
    "ACTIVE",
    "DEFAULT_RECOVERY_GRACE",
    "GONE",
    "JOB",
    "RERUN_HINT",
    "ImageOperations",
    "ImageRecord",
    "RunOptions",
    "is_transient",
]

T = TypeVar("T")


is_transient = outlives_waits  # errors a wait outlives until its deadline: ims_provider.retry.POLICY says

JOB = JOB_DONE.with_transient(is_transient)
ACTIVE = IMAGE_ACTIVE.with_transient(is_transient)
GONE = IMAGE_GONE.with_transient(is_transient)
# IMS deletes at once more often than not: look straight away, then back off as IMAGE_GONE does.
_GONE_AT_ONCE = GONE.with_schedule(dataclasses.replace(GONE.schedule, initial_delay=0.0))

DEFAULT_RECOVERY_GRACE = (
    60.0  # seconds IMS gets to show what it accepted (an image, a job); ims:recoveryGrace
)
RERUN_HINT = (
    "Run `pulumi up` again with the same inputs: the provider finds that image and adopts it instead of "
    "creating another one (or raise timeouts.create if IMS needs longer)."
)


@dataclass(frozen=True)
class ImageRecord:
    """The result of create or read: the resource ID and the outputs to store."""

    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class RunOptions:
    """How the operations of one provider host run, whatever the resource: the clock (virtual in tests),
    where notes go, whether progress lines are written, the first job poll's delay (``ims:pollDelay``) and
    how long IMS is given to show what it accepted (``ims:recoveryGrace``; None: the default)."""

    clock: Clock = SYSTEM_CLOCK
    write: Callable[[str], None] = write_line
    progress: bool = True
    poll_delay: float | None = None
    recovery_grace: float | None = None


DEFAULT_OPTIONS = RunOptions()


class ImageOperations:
    """One thread-safe client (the region the images are in), the client the jobs are polled through (the
    provider's own region: a copy across regions is a job there), a clock and where notes go; all per-call
    state lives in locals."""

    def __init__(
        self, client: ImsClient, options: RunOptions = DEFAULT_OPTIONS, *, job_client: ImsClient | None = None
    ) -> None:
        self.client = client
        self.job_client = job_client or client
        self.options = options
        self.clock = options.clock
        self.write = options.write
        self.progress = options.progress
        poll_delay = options.poll_delay
        self.job_spec = (
            JOB
            if poll_delay is None
            else JOB.with_schedule(dataclasses.replace(JOB.schedule, initial_delay=poll_delay))
        )
        grace = options.recovery_grace
        self.recovery_grace = DEFAULT_RECOVERY_GRACE if grace is None else grace

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

    def wait_job(
        self, job_id: str, deadline: float, reporter: ProgressReporter, seen: list[str] | None = None
    ) -> dict[str, Any]:
        """Poll the job until it ends (``seen`` collects every image ID any poll reported). For
        ``recovery_grace`` after submit a job IMS does not know yet counts as starting (an accepted job may be
        listed late); after that it is an error that says to run ``up`` again."""
        known = seen if seen is not None else []
        submitted = self.clock.monotonic()

        def observe(event: PollEvent[dict[str, Any]]) -> None:
            if isinstance(event.value, Mapping):
                known.extend(i for i in job_image_ids(event.value) if i not in known)
            reporter(event)

        def fetch() -> dict[str, Any]:
            try:
                return self.job_client.get_job(job_id)
            except ImsApiError as exc:
                if error_class_of(exc) is not ErrorClass.JOB_NOT_FOUND:
                    raise
                waited = self.clock.monotonic() - submitted
                if waited < self.recovery_grace:
                    return {"job_id": job_id, "status": "INIT"}
                raise JobNotFoundError(job_id, waited) from None

        what = f"IMS job {job_id}"
        try:
            return self._wait(self.job_spec, fetch, deadline, what, observe)
        except WaitTimeoutError as exc:
            images = f" (image {', '.join(known)})" if known else " (no image ID reported yet)"
            detail = str(exc).partition(f"waiting for {what}. ")[2]
            raise WaitTimeoutError(
                f"{what}{images}",
                exc.elapsed,
                exc.last,
                hint="The job keeps running on IMS and may still make the image. "
                + RERUN_HINT
                + (f" ({detail})" if detail else ""),
            ) from exc

    # --- an image that exists: change it, retag it, delete it ----------------------------------------------

    def apply_patches(self, image: LiveImage, ops: Sequence[dict[str, Any]], deadline: float) -> None:
        """One PATCH per attribute, so IMS's IMG.0035 ("no such attribute") is answered per attribute."""
        if not ops:
            return
        if image.is_data_image:
            paths = ", ".join(op["path"].lstrip("/").removeprefix("__") for op in ops)
            raise ImsProviderError(
                f"image {image.id} is a data image, and IMS does not let a data image's {paths} change "
                "(IMG.0168); only its tags can change in place"
            )
        for op in ops:
            self._patch(image.id, op, deadline)

    def _patch(self, image_id: str, op: dict[str, Any], deadline: float, *, settle: bool = True) -> None:
        try:
            self.client.update_image(image_id, [op])
        except ImsApiError as exc:
            if exc.code == "IMG.0035":
                if op["op"] == "replace":  # the image never had it (e.g. max_ram): add it
                    self.client.update_image(image_id, [{**op, "op": "add"}])
                return  # a "remove" of an attribute the image does not have is already done
            if exc.code != "IMG.0046" or not settle:
                raise
            # Not active (yet): wait for it within the deadline, then try once more.
            self._settled_image(image_id, deadline, f"image {image_id} to become active so it can be updated")
            self._patch(image_id, op, deadline, settle=False)

    def sync_tags(self, image_id: str, old: dict[str, str] | None, new: dict[str, str] | None) -> bool:
        """Make the image's tags the program's, with at most one delete and one create; True if any changed.

        Nothing happens unless the declared tags changed (drift is refresh's to show). The change is
        computed against the live tags, so it is the smallest one even when the state is stale. Dropping
        the tags from the program removes the ones it had set, and leaves tags it never set alone.
        """
        if old == new:
            return False
        live = recovery.look_up(self.client, LiveImage({"id": image_id})).user_tags()
        if new is None:
            assert old is not None
            gone = [k for k in old if k in live]
            wanted: dict[str, str] = {}
        else:
            gone = [k for k in live if k not in new]
            wanted = new
        changed = {k: v for k, v in wanted.items() if live.get(k) != v}
        if gone:
            self.client.tags_action(image_id, "delete", api_pairs({k: live[k] for k in gone}))
        if changed:
            self.client.tags_action(image_id, "create", api_pairs(changed))
        return bool(gone or changed)

    def delete_images(self, ids: Sequence[str], deadline: float) -> None:
        """Delete each image (one still being made is first waited for), then wait until each is gone."""
        for each in ids:
            self._delete_one(each, deadline)
        for each in ids:
            self._wait(
                _GONE_AT_ONCE,
                lambda each=each: self.client.get_image(each),  # type: ignore[misc]
                deadline,
                f"image {each} to be deleted",
            )

    def _delete_one(self, image_id: str, deadline: float) -> None:
        try:
            self.client.delete_image(image_id)
        except ImsApiError as exc:
            if exc.code != "IMG.0090":  # still being created: wait for it to settle, then delete
                raise
            self._settled_image(
                image_id, deadline, f"image {image_id} to finish creating before it is deleted"
            )
            self.client.delete_image(image_id)

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
