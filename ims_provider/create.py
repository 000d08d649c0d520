"""Creating the images of one PrivateImage, and recovering from interrupted or unanswered attempts.

Create never loses, duplicates or leaks an image (see :mod:`ims_provider.recovery`): it first looks for the
unclaimed images an earlier, interrupted attempt of the same request made and adopts them (only if they agree
with the request in everything IMS shows); a create request whose answer was lost is followed by a search, not
by a blind second request; every image a job was asked for is accounted for, or the job's images are deleted
and the create fails; a failed job's images are deleted before the error is raised; and the images are
claimed (marked as tracked) as the last step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ims_provider import recovery
from ims_provider.errors import (
    AmbiguousRequestError,
    ImsApiError,
    ImsProviderError,
    IncompleteJobError,
    JobFailedError,
    WaitTimeoutError,
)
from ims_provider.jobs import JOB_DONE, failed_sub_jobs, job_image_ids
from ims_provider.model.expected import Expected, RequestShape
from ims_provider.model.live import LiveImage, timestamp
from ims_provider.model.private_image import build_body, label_of, shape_of, timeouts_of
from ims_provider.operations import ACTIVE, RERUN_HINT, ImageOperations, ImageRecord, is_transient
from ims_provider.progress import ProgressReporter
from ims_provider.retry import POLICY, ErrorClass, error_class_of
from ims_provider.turns import TURNS
from ims_provider.waiter import Outcome

__all__ = ["Creation"]

RECOVERY_POLL = 2.0  # seconds between those looks
MAX_AMBIGUOUS_CREATES = 10  # unanswered create requests before giving up (each is followed by a search)
# An image a successful job reported may show up in the image list a little later.
LISTING_GRACE = 30.0
DISCARD_WAIT = 120.0  # at least this long to let a failed job's image settle so it can be deleted
JOB_WINDOW_SLACK = 60.0  # an image of a job may be stamped a little outside the job's begin and end
# IMS makes one image of an ECS or disk at a time (IMG.0010, IMG.0139): submit again after 5 s, up to 60 s.
BUSY_FIRST, BUSY_FACTOR, BUSY_CAP = 5.0, 1.5, 60.0


class Creation(ImageOperations):
    """Makes (or recovers) the images of one request, waits until they are active, and claims them."""

    def create(self, inputs: Mapping[str, Any]) -> ImageRecord:
        """Make the images the (checked) inputs ask for; the primary one is the resource."""
        timeout = timeouts_of(inputs)["create"]
        start = self.clock.monotonic()
        deadline = start + timeout
        label = label_of(inputs)
        reporter = self._reporter(label)
        body = build_body(inputs)
        shape = shape_of(inputs)

        def waiting(key: str, holder: str) -> None:
            reporter.note(_waiting_for(key, holder))

        with TURNS.taken(shape.keys, label, deadline - self.clock.monotonic(), waiting) as acquired:
            if not acquired:
                raise WaitTimeoutError(
                    f"another create in this deployment that makes an image of the same source "
                    f"({', '.join(shape.sources) or shape.primary.describe()}) to finish",
                    self.clock.monotonic() - start,
                    hint="Creates of one ECS or disk, and of images with the same name from the same source, "
                    "run one after the other. Raise timeouts.create.",
                )
            job_id, images = self.make(
                shape, lambda: self.client.create_image(body), deadline, reporter, label
            )
            primary, extras = images[0], images[1:]
            for note in recovery.claim_images(self.client, primary, extras):
                self.write(f"ims: {label}: warning: {note}")
            # Read after the claim, so the first refresh finds nothing changed (the claim moves updated_at).
            fresh = self._fresh(primary.id, tags=self._tags_are_top_level(inputs))
        data_ids = [image.id for image in images if image.is_data_image]
        outputs = self._outputs(inputs, fresh, job_id, data_ids)
        reporter.finish(f"image {primary.id} active")
        return ImageRecord(primary.id, outputs)

    def make(
        self,
        shape: RequestShape,
        submit: Callable[[], str],
        deadline: float,
        reporter: ProgressReporter,
        label: str,
    ) -> tuple[str | None, list[LiveImage]]:
        """Adopt the images an earlier attempt of this request made, or ``submit`` it (a call that sends the
        request and returns its job ID); returns the job ID (None when adopted) and the active images in the
        request's order, primary first.

        After a create request whose answer was lost, IMS is searched for ``recovery_grace`` seconds for the
        image that request may have made before the request is sent again.
        """
        abandoned: list[str] = []  # images of earlier attempts that failed (already discarded)
        warned: set[str] = set()
        look_until: float | None = None
        ambiguous = busy = faults = 0
        first_fault: float | None = None
        while True:
            search = self._find_earlier(shape, abandoned, deadline)
            for leftover in search.leftovers:
                if leftover.image.id not in warned:
                    warned.add(leftover.image.id)
                    self.write(
                        f"ims: {label}: warning: {leftover.describe()}; it is not taken for an earlier "
                        "attempt of this request and was left alone (delete it if nothing uses it)"
                    )
            if search.found is not None:
                images = self._settle_earlier(search.found, shape, deadline, reporter, label, abandoned)
                if images is not None:
                    return None, images
                abandoned += search.found.ids()
                continue
            now = self.clock.monotonic()
            if look_until is not None and now < look_until:
                self.clock.sleep(min(RECOVERY_POLL, look_until - now))
                continue
            if now >= deadline:
                raise WaitTimeoutError(
                    f"IMS to take the create request for the {shape.primary.describe()}",
                    reporter.elapsed(),
                    hint=f"{ambiguous} request(s) went unanswered, {busy} found the source busy, and no "
                    "image they might have made was found. " + RERUN_HINT,
                )
            try:
                job_id = submit()
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
            except ImsApiError as exc:
                error_class = error_class_of(exc)
                if error_class is ErrorClass.BUSY:
                    busy += 1
                    delay = min(BUSY_FIRST * BUSY_FACTOR ** (busy - 1), BUSY_CAP, max(deadline - now, 0.0))
                    reporter.note(
                        f"IMS is making another image of {', '.join(shape.sources) or 'this source'} "
                        f"({exc.code}: one image of an ECS or disk at a time); submitting again in "
                        f"{delay:.0f}s"
                    )
                    self.clock.sleep(delay)
                    continue
                if error_class is ErrorClass.IMS_FAULT:
                    faults += 1
                    first_fault = now if first_fault is None else first_fault
                    handling = POLICY[ErrorClass.IMS_FAULT]
                    pause = self.client.retry_policy.next_delay(
                        faults, now - first_fault, exc.retry_after, handling
                    )
                    if pause is None or now + pause >= deadline:
                        raise ImsApiError(
                            exc.status,
                            exc.code,
                            f"{exc.message} (IMS's own error, the same for {faults} create requests in "
                            f"{now - first_fault:.0f}s; no image of this request was made)",
                            method=exc.method,
                            path=exc.path,
                            request_id=exc.request_id,
                        ) from None
                    reporter.note(f"IMS answered HTTP {exc.status} {exc.code}; trying again in {pause:.1f}s")
                    self.clock.sleep(pause)
                    continue
                raise
            reporter.note(f"submitted IMS job {job_id}")
            return job_id, self._await_job(job_id, shape, deadline, reporter)

    def _find_earlier(
        self, shape: RequestShape, abandoned: Sequence[str], deadline: float
    ) -> recovery.Search:
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
        shape: RequestShape,
        deadline: float,
        reporter: ProgressReporter,
        label: str,
        abandoned: Sequence[str] = (),
    ) -> list[LiveImage] | None:
        """Wait until an earlier attempt's images are active; None if its job failed (its images are then
        deleted) or it lacks a data image the request asks for (looked for again once the primary is active;
        such an image is left alone, as it may not be ours)."""
        primary_id = found.primary.id
        reporter.note(
            f"found {shape.primary.describe()} {primary_id} ({found.primary.status}) from an earlier "
            "attempt of this request; adopting it instead of creating another"
        )
        if found.others:
            self.write(
                f"ims: {label}: warning: more unclaimed images match this request "
                f"({', '.join(found.others)}); they were left alone: delete them if nothing else uses them"
            )
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
            f"ims: {label}: the earlier attempt that made image {primary_id} is unusable (its job failed); "
            f"deleted {', '.join(deleted) or 'nothing'}"
            + (f", could NOT delete {', '.join(left)}" if left else "")
            + "; creating the image anew"
        )
        return None

    def _wait_earlier(self, image_id: str, deadline: float) -> LiveImage | None:
        """An adopted image once active, or None if it ended killed or vanished (its job failed)."""
        what = f"image {image_id} (made by an earlier attempt of this request) to become active"
        image = self._settled_or_rerun(image_id, deadline, what)
        return image if _is_active(image) else None

    def _await_job(
        self, job_id: str, shape: RequestShape, deadline: float, reporter: ProgressReporter
    ) -> list[LiveImage]:
        """Wait for a submitted job and its images, in the request's order; on failure, or when an image the
        request asked for cannot be accounted for, delete what it made, then raise."""
        seen: list[str] = []  # every image ID any poll reported: a failed job may stop reporting them
        job = self.wait_job(job_id, deadline, reporter, seen)
        reported = job_image_ids(job)
        subs = failed_sub_jobs(job)
        if JOB_DONE.classify(job) is Outcome.FAILURE or subs:
            deleted, left = self._discard(_merge(seen, reported), deadline)
            raise JobFailedError(job_id, job.get("error_code"), job.get("fail_reason"), subs, deleted, left)
        made: list[LiveImage] = []
        for image_id in _merge(seen, reported):
            what = f"image {image_id} (IMS job {job_id}) to become active"
            image = self._settled_or_rerun(image_id, deadline, what, listing_grace=LISTING_GRACE)
            if not _is_active(image):
                deleted, left = self._discard(_merge(seen, reported), deadline)
                ended = f"ended {image.status}" if image is not None else "vanished"
                raise JobFailedError(
                    job_id, None, f"image {image_id} {ended} instead of becoming active", [], deleted, left
                )
            assert image is not None
            made.append(image)
        assigned = _assign(shape, made)
        differing: list[recovery.Leftover] = []
        if any(got is None for got in assigned):
            assigned, differing = self._look_for_missing(job, shape, assigned, [i.id for i in made])
        lost = [e.describe() for e, got in zip(shape.all, assigned, strict=True) if got is None]
        taken = {image.id for image in assigned if image is not None}
        stray = [image.id for image in made if image.id not in taken]
        if lost or stray:
            deleted, left = self._discard(_merge([i.id for i in made], sorted(taken)), deadline)
            notes = [leftover.describe() for leftover in differing]
            raise IncompleteJobError(job_id, lost, stray, deleted, left, notes)
        return [image for image in assigned if image is not None]

    def _look_for_missing(
        self,
        job: Mapping[str, Any],
        shape: RequestShape,
        assigned: list[LiveImage | None],
        taken: Sequence[str],
    ) -> tuple[list[LiveImage | None], list[recovery.Leftover]]:
        """Find the images a successful job made but did not report (IMS has reported an ECS job's data
        images in several shapes): unclaimed, agreeing with their request entry in everything, made while the
        job ran. Also returns the images of the job's window that match name and source but differ."""
        begin = timestamp(job.get("begin_time"))
        end = timestamp(job.get("end_time")) or None
        result = list(assigned)
        used = set(taken)
        differing: list[recovery.Leftover] = []
        for index, expected in enumerate(shape.all):
            if result[index] is not None:
                continue
            agree, leftovers = recovery.matching(self.client, expected, sorted(used))
            window = [img for img in agree if _within(img.created, begin, end)]
            window.sort(key=lambda img: abs(img.created - begin))
            differing += [lo for lo in leftovers if _within(lo.image.created, begin, end)]
            if window:
                result[index] = window[0]
                used.add(window[0].id)
        return result, differing

    def _settled_or_rerun(
        self, image_id: str, deadline: float, what: str, *, listing_grace: float = 0.0
    ) -> LiveImage | None:
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
        if image is None or image.gone:
            return False
        return self.client.delete_image(image_id)


def _waiting_for(key: str, holder: str) -> str:
    """The progress line of a create that waits for another create of this deployment."""
    who = holder or "another resource"
    if "\x00" in key:  # an image key: same name, source and kind
        return f"waiting for {who}, which makes an image of the same name from the same source, to finish"
    return f"waiting for {who}'s image of {key} to finish (IMS makes one image of an ECS or disk at a time)"


def _assign(shape: RequestShape, images: Sequence[LiveImage]) -> list[LiveImage | None]:
    """Each image the request expects, matched by kind and source (``__data_origin``), in request order. A job
    asked for one image that reports one is taken at its word (a copy's source attribute is inferred)."""
    if len(shape.all) == 1 and len(images) == 1 and shape.primary.data_image is None:
        return [images[0]]
    remaining = list(images)
    assigned: list[LiveImage | None] = []
    for expected in shape.all:
        match = next((img for img in remaining if _made_as(img, expected)), None)
        if match is not None:
            remaining.remove(match)
        assigned.append(match)
    return assigned


def _made_as(image: LiveImage, expected: Expected) -> bool:
    kind = expected.data_image is None or image.is_data_image == expected.data_image
    return kind and image.attribute(expected.source_key) == expected.source


def _within(created: float, begin: float, end: float | None) -> bool:
    if not begin:
        return True
    return begin - JOB_WINDOW_SLACK <= created <= (end or created) + JOB_WINDOW_SLACK


def _is_active(image: LiveImage | None) -> bool:
    return image is not None and ACTIVE.classify(dict(image.raw)) is Outcome.SUCCESS


def _merge(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
