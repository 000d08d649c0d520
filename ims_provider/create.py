"""Creating the images of one PrivateImage, and recovering from interrupted or unanswered attempts.

Create never loses, duplicates or leaks an image (see :mod:`ims_provider.recovery`): it first looks for an
unclaimed image an earlier, interrupted attempt of the same request made and adopts it; a create request
whose answer was lost is followed by a search, not by a blind second request; a failed job's images are
deleted before the error is raised; and the images are claimed (marked as tracked) as the last step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ims_provider import recovery
from ims_provider.client import ImsClient
from ims_provider.errors import (
    AmbiguousRequestError,
    ImsApiError,
    ImsProviderError,
    JobFailedError,
    WaitTimeoutError,
)
from ims_provider.jobs import IMAGE_ACTIVE, JOB_DONE, failed_sub_jobs, job_image_ids
from ims_provider.operations import JOB, ImageOperations, ImageRecord, is_transient, label_of
from ims_provider.progress import ProgressReporter
from ims_provider.spec import build_body, timeouts_of
from ims_provider.waiter import Clock, Outcome, PollEvent

__all__ = ["DEFAULT_RECOVERY_GRACE", "RERUN_HINT", "Creation", "order_data_images"]

DEFAULT_RECOVERY_GRACE = 60.0  # seconds to look for the image of a create request whose answer was lost
RECOVERY_POLL = 2.0  # seconds between those looks
MAX_AMBIGUOUS_CREATES = 10  # unanswered create requests before giving up (each is followed by a search)
# An image a successful job reported may show up in the image list a little later.
LISTING_GRACE = 30.0
DISCARD_WAIT = 120.0  # at least this long to let a failed job's image settle so it can be deleted

RERUN_HINT = (
    "Run `pulumi up` again with the same inputs: the provider finds that image and adopts it instead of "
    "creating another one (or raise timeouts.create if IMS needs longer)."
)


class Creation(ImageOperations):
    """Makes (or recovers) the images of one request, waits until they are active, and claims them."""

    def __init__(
        self,
        client: ImsClient,
        *,
        clock: Clock,
        write: Callable[[str], None],
        progress: bool,
        poll_delay: float | None = None,
        recovery_grace: float | None = None,
    ) -> None:
        super().__init__(client, clock=clock, write=write, progress=progress)
        self.job_spec = (
            JOB
            if poll_delay is None
            else JOB.with_schedule(dataclasses.replace(JOB.schedule, initial_delay=poll_delay))
        )
        if recovery_grace is None:
            recovery_grace = getattr(client.config, "recovery_grace", None)
        self.recovery_grace = DEFAULT_RECOVERY_GRACE if recovery_grace is None else recovery_grace

    def create(self, inputs: Mapping[str, Any]) -> ImageRecord:
        """Make the images the (checked) inputs ask for; the primary one is the resource."""
        timeout = timeouts_of(inputs)["create"]
        start = self.clock.monotonic()
        deadline = start + timeout
        label = label_of(inputs)
        reporter = self._reporter(label)
        body = build_body(inputs)
        shape = recovery.shape_of(body)
        with recovery.exclusive(shape, deadline - self.clock.monotonic()) as acquired:
            if not acquired:
                raise WaitTimeoutError(
                    f"another create of the {shape.primary.describe()} in this deployment to finish",
                    self.clock.monotonic() - start,
                    hint="Two resources that make images with the same name from the same source are created "
                    "one after the other. Raise timeouts.create, or give the images different names.",
                )
            job_id, images = self._make(body, shape, deadline, reporter, label)
            system = [img for img in images if img.get("virtual_env_type") != "DataImage"]
            data = [img for img in images if img.get("virtual_env_type") == "DataImage"]
            data_ids = order_data_images(inputs.get("data_images") or [], data)
            primary = system[0] if system else next(img for img in data if img["id"] == data_ids[0])
            outputs = self._outputs(inputs, primary, job_id, data_ids)
            extras = [img for img in images if img["id"] != primary["id"]]
            for note in recovery.claim_images(self.client, primary, extras):
                self.write(f"ims: {label}: warning: {note}")
        reporter.finish(f"image {primary['id']} active")
        return ImageRecord(str(primary["id"]), outputs)

    def _make(
        self,
        body: Mapping[str, Any],
        shape: recovery.RequestShape,
        deadline: float,
        reporter: ProgressReporter,
        label: str,
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """Adopt the images an earlier attempt of this request made, or submit it; returns the job ID (None
        when adopted) and the active images, primary first.

        After a create request whose answer was lost, IMS is searched for ``recovery_grace`` seconds for the
        image that request may have made before the request is sent again.
        """
        abandoned: list[str] = []  # images of earlier attempts that failed (already discarded)
        look_until: float | None = None
        ambiguous = 0
        while True:
            found = self._find_earlier(shape, abandoned, deadline)
            if found is not None:
                images = self._settle_earlier(found, shape, deadline, reporter, label, abandoned)
                if images is not None:
                    return None, images
                abandoned += found.ids()
                continue
            now = self.clock.monotonic()
            if look_until is not None and now < look_until:
                self.clock.sleep(min(RECOVERY_POLL, look_until - now))
                continue
            if now >= deadline:
                raise WaitTimeoutError(
                    f"IMS to take the create request for the {shape.primary.describe()}",
                    reporter.elapsed(),
                    hint=f"{ambiguous} request(s) went unanswered and no image they might have made was "
                    "found. " + RERUN_HINT,
                )
            try:
                job_id = self.client.create_image(body)
            except AmbiguousRequestError as exc:
                ambiguous += 1
                if ambiguous >= MAX_AMBIGUOUS_CREATES:
                    raise ImsProviderError(
                        f"IMS left {ambiguous} create requests for the {shape.primary.describe()} unanswered "
                        f"({exc.cause}) and none of them made an image within {self.recovery_grace:.0f}s. "
                        "Nothing is tracked in the state. " + RERUN_HINT
                    ) from None
                reporter.note(
                    f"the create request got no clear answer ({exc.cause}); looking for the image it may "
                    f"have made for up to {self.recovery_grace:.0f}s before sending it again"
                )
                look_until = min(self.clock.monotonic() + self.recovery_grace, deadline)
                continue
            reporter.note(f"submitted IMS job {job_id}")
            return job_id, self._await_job(job_id, shape, deadline, reporter)

    def _find_earlier(
        self, shape: recovery.RequestShape, abandoned: Sequence[str], deadline: float
    ) -> recovery.Found | None:
        """The search must not be skipped on a transient error: it is retried until the deadline."""
        while True:
            try:
                return recovery.find_earlier(self.client, shape, exclude=abandoned)
            except Exception as exc:
                if not is_transient(exc) or self.clock.monotonic() + RECOVERY_POLL >= deadline:
                    raise
                self.clock.sleep(RECOVERY_POLL)

    def _settle_earlier(
        self,
        found: recovery.Found,
        shape: recovery.RequestShape,
        deadline: float,
        reporter: ProgressReporter,
        label: str,
        abandoned: Sequence[str] = (),
    ) -> list[dict[str, Any]] | None:
        """Wait until an earlier attempt's images are active; None if its job failed (its images are then
        deleted) or it lacks a data image the request asks for (looked for again once the primary is active;
        such an image is left alone, as it may not be ours)."""
        primary_id = str(found.primary["id"])
        reporter.note(
            f"found {shape.primary.describe()} {primary_id} ({found.primary.get('status')}) from an earlier "
            "attempt of this request; adopting it instead of creating another"
        )
        if found.others:
            self.write(
                f"ims: {label}: warning: more unclaimed images match this request "
                f"({', '.join(found.others)}); they were left alone: delete them if nothing else uses them"
            )
        reason = "its job failed"
        primary = self._wait_earlier(primary_id, deadline)
        if primary is not None:
            if not found.complete:  # real IMS may register data images later than the system image
                extras = recovery.siblings_of(self.client, shape, primary, exclude=abandoned)
                found = dataclasses.replace(found, extras=extras)
            missing = [e.describe() for e, got in zip(shape.extras, found.extras, strict=True) if got is None]
            if missing:
                # Not provably ours (someone may have made it by hand): leave it alone rather than delete it.
                self.write(
                    f"ims: {label}: warning: image {primary_id} matches this request but lacks "
                    f"{', '.join(missing)}; it was left alone (delete it if nothing uses it) and the image "
                    "is created anew"
                )
                return None
            else:
                images = [primary]
                for image_id in found.ids()[1:]:
                    image = self._wait_earlier(image_id, deadline)
                    if image is None:
                        break
                    images.append(image)
                else:
                    return images
        deleted, left = self._discard(found.ids(), deadline)
        self.write(
            f"ims: {label}: the earlier attempt that made image {primary_id} is unusable ({reason}); "
            f"deleted {', '.join(deleted) or 'nothing'}"
            + (f", could NOT delete {', '.join(left)}" if left else "")
            + "; creating the image anew"
        )
        return None

    def _wait_earlier(self, image_id: str, deadline: float) -> dict[str, Any] | None:
        """An adopted image once active, or None if it ended killed or vanished (its job failed)."""
        what = f"image {image_id} (made by an earlier attempt of this request) to become active"
        image = self._settled_or_rerun(image_id, deadline, what)
        return image if _is_active(image) else None

    def _await_job(
        self, job_id: str, shape: recovery.RequestShape, deadline: float, reporter: ProgressReporter
    ) -> list[dict[str, Any]]:
        """Wait for a submitted job and its images; on failure delete what it made, then raise."""
        seen: list[str] = []  # every image ID any poll reported: a failed job may stop reporting them
        job = self._wait_job(job_id, deadline, reporter, seen)
        final = job_image_ids(job)
        subs = failed_sub_jobs(job)
        if JOB_DONE.classify(job) is Outcome.FAILURE or subs:
            deleted, left = self._discard(_merge(seen, final), deadline)
            raise JobFailedError(job_id, job.get("error_code"), job.get("fail_reason"), subs, deleted, left)
        if not final:
            found = self._find_earlier(shape, (), deadline)
            if found is None or not found.complete:
                raise ImsProviderError(
                    f"IMS job {job_id} succeeded but reported no image ID, and no image of this request "
                    "could be found; " + RERUN_HINT
                )
            final = found.ids()
        images: list[dict[str, Any]] = []
        for image_id in final:
            what = f"image {image_id} (IMS job {job_id}) to become active"
            image = self._settled_or_rerun(image_id, deadline, what, listing_grace=LISTING_GRACE)
            if not _is_active(image):
                deleted, left = self._discard(_merge(seen, final), deadline)
                ended = f"ended {image.get('status')}" if image is not None else "vanished"
                raise JobFailedError(
                    job_id, None, f"image {image_id} {ended} instead of becoming active", [], deleted, left
                )
            assert image is not None
            images.append(image)
        return images

    def _wait_job(
        self, job_id: str, deadline: float, reporter: ProgressReporter, seen: list[str] | None = None
    ) -> dict[str, Any]:
        known = seen if seen is not None else []

        def observe(event: PollEvent[dict[str, Any]]) -> None:
            if isinstance(event.value, Mapping):
                known.extend(i for i in job_image_ids(event.value) if i not in known)
            reporter(event)

        what = f"IMS job {job_id}"
        try:
            return self._wait(self.job_spec, lambda: self.client.get_job(job_id), deadline, what, observe)
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

    def _settled_or_rerun(
        self, image_id: str, deadline: float, what: str, *, listing_grace: float = 0.0
    ) -> dict[str, Any] | None:
        """The image once active or killed; None if it vanished. A timeout says to run ``pulumi up`` again."""
        try:
            return self._settled_image(image_id, deadline, what, listing_grace=listing_grace)
        except WaitTimeoutError as exc:
            raise WaitTimeoutError(exc.what, exc.elapsed, exc.last, hint=RERUN_HINT) from exc

    def _discard(
        self, image_ids: Sequence[str], deadline: float | None = None
    ) -> tuple[list[str], list[str]]:
        """Delete what a failed attempt did make, so a failure leaves nothing behind.

        Returns (deleted, could not delete). An image still being made (``IMG.0090``) is first waited for
        until it settles; images already gone count as neither.
        """
        deleted: list[str] = []
        left: list[str] = []
        now = self.clock.monotonic()
        until = max(deadline if deadline is not None else now, now + DISCARD_WAIT)
        for image_id in image_ids:
            try:
                if self._delete_settled(image_id, until):
                    deleted.append(image_id)
            except ImsProviderError as exc:
                left.append(image_id)
                self.write(f"ims: could not delete image {image_id} of a failed attempt: {exc}")
        return deleted, left

    def _delete_settled(self, image_id: str, until: float) -> bool:
        try:
            return self.client.delete_image(image_id)
        except ImsApiError as exc:
            if exc.code != "IMG.0090":  # "being created": wait until it is active, killed or gone
                raise
        what = f"image {image_id} of a failed attempt to settle before it is deleted"
        image = self._settled_image(image_id, until, what)
        if image is None or str(image.get("status", "")).lower() == "deleted":
            return False
        return self.client.delete_image(image_id)


def _origin_key(item: Mapping[str, Any]) -> str:
    if item.get("volume_id"):
        return f"volume,{item['volume_id']}"
    return f"file,{item.get('image_url', '')}"


def order_data_images(
    request_items: Sequence[Mapping[str, Any]], images: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Data image IDs in request order, matched by each image's ``__data_origin`` (job order as fallback)."""
    remaining = list(images)
    ordered: list[str] = []
    for item in request_items:
        key = _origin_key(item)
        match = next((img for img in remaining if img.get("__data_origin") == key), None)
        if match is not None:
            remaining.remove(match)
            ordered.append(str(match["id"]))
    ordered += [str(img["id"]) for img in remaining]
    return ordered


def _is_active(image: dict[str, Any] | None) -> bool:
    return image is not None and IMAGE_ACTIVE.classify(image) is Outcome.SUCCESS


def _merge(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
