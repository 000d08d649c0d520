"""Create, read, update and delete of one PrivateImage against IMS, independent of the Pulumi engine.

``provider.py`` adapts these to the dynamic-provider interface; tests and benchmarks can drive them
directly. Each operation owns its deadline (the engine passes none to a Python dynamic provider).

Create never loses, duplicates or leaks an image (see :mod:`ims_provider.recovery`): it first looks for an
unclaimed image an earlier, interrupted attempt of the same request made and adopts it; a create request
whose answer was lost is followed by a search, not by a blind second request; a failed job's images are
deleted before the error is raised; and the images are claimed (marked as tracked) as the last step.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from ims_provider import recovery
from ims_provider.client import ImsClient, ImsConnectionError
from ims_provider.errors import (
    AmbiguousRequestError,
    ImsApiError,
    ImsProviderError,
    JobFailedError,
    WaitTimeoutError,
)
from ims_provider.jobs import (
    IMAGE_ACTIVE,
    IMAGE_GONE,
    JOB_DONE,
    SYSTEM_CLOCK,
    Clock,
    Outcome,
    PollEvent,
    wait,
)
from ims_provider.progress import ProgressReporter
from ims_provider.spec import Source, build_body, source_of, timeouts_of
from ims_provider.state import (
    declared_tags,
    old_inputs,
    outputs_for,
    tag_map,
    user_inputs,
    with_live_tags,
)

DEFAULT_RECOVERY_GRACE = 60.0  # seconds to look for the image of a create request whose answer was lost
RECOVERY_POLL = 2.0  # seconds between those looks
MAX_AMBIGUOUS_CREATES = 10  # unanswered create requests before giving up (each is followed by a search)
DISCARD_WAIT = 120.0  # at least this long to let a failed job's image settle so it can be deleted


def is_transient(exc: BaseException) -> bool:
    """Errors that must not end a wait before its deadline: throttling, 5xx, dropped connections."""
    if isinstance(exc, ImsApiError):
        return exc.status == 429 or exc.status >= 500 or exc.code == "IMG.0060"
    if isinstance(exc, ImsConnectionError):
        return exc.retryable  # a certificate IMS does not trust will not heal by waiting
    return isinstance(exc, requests.RequestException | AmbiguousRequestError)


JOB = JOB_DONE.with_transient(is_transient)
ACTIVE = IMAGE_ACTIVE.with_transient(is_transient)
GONE = IMAGE_GONE.with_transient(is_transient)

RERUN_HINT = (
    "Run `pulumi up` again with the same inputs: the provider finds that image and adopts it instead of "
    "creating another one (or raise timeouts.create if IMS needs longer)."
)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ImageRecord:
    """The result of create or read: the resource ID and the outputs to store."""

    id: str
    outputs: dict[str, Any]


def job_image_ids(job: Mapping[str, Any]) -> list[str]:
    """Image IDs a job reports: top-level ``entities.image_id`` first, then each sub-job's, in order."""
    entities = job.get("entities") or {}
    if not isinstance(entities, Mapping):
        return []
    ids: list[str] = []
    top = entities.get("image_id")
    if top:
        ids.append(str(top))
    for sub in entities.get("sub_jobs_result") or []:
        sub_entities = sub.get("entities") if isinstance(sub, Mapping) else None
        sub_id = sub_entities.get("image_id") if isinstance(sub_entities, Mapping) else None
        if sub_id and str(sub_id) not in ids:
            ids.append(str(sub_id))
    return ids


def _failed(status: Any) -> bool:
    return isinstance(status, str) and status.strip().upper() in ("FAIL", "FAILED")


def failed_sub_jobs(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sub-jobs that ended in FAIL (IMS does not promise the parent then fails too)."""
    entities = job.get("entities") or {}
    if not isinstance(entities, Mapping):
        return []
    subs = entities.get("sub_jobs_result") or []
    return [dict(sub) for sub in subs if isinstance(sub, Mapping) and _failed(sub.get("status"))]


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


class ImageLifecycle:
    """The four operations, sharing one thread-safe client; all per-call state lives in locals."""

    def __init__(
        self,
        client: ImsClient,
        *,
        clock: Clock = SYSTEM_CLOCK,
        write: Callable[[str], None] = _stderr,
        progress: bool = True,
        poll_delay: float | None = None,
        recovery_grace: float | None = None,
    ) -> None:
        self.client = client
        self.job_spec = (
            JOB
            if poll_delay is None
            else JOB.with_schedule(dataclasses.replace(JOB.schedule, initial_delay=poll_delay))
        )
        self.clock = clock
        self.write = write
        self.progress = progress
        if recovery_grace is None:
            recovery_grace = getattr(client.config, "recovery_grace", None)
        self.recovery_grace = DEFAULT_RECOVERY_GRACE if recovery_grace is None else recovery_grace

    # --- create ---------------------------------------------------------------------------------------

    def create(self, props: Mapping[str, Any]) -> ImageRecord:
        inputs = user_inputs(props)
        timeout = timeouts_of(inputs)["create"]
        start = self.clock.monotonic()
        deadline = start + timeout
        label = _label(inputs)
        reporter = ProgressReporter(label, write=self.write, clock=self.clock, enabled=self.progress)
        if inputs.get("existing_image_id"):
            return self._adopt(inputs, str(inputs["existing_image_id"]), reporter)
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
        try:
            image = wait(
                ACTIVE,
                lambda: self.client.get_image(image_id),
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                what=f"image {image_id} (made by an earlier attempt of this request) to become active",
            )
        except WaitTimeoutError as exc:
            raise WaitTimeoutError(exc.what, exc.elapsed, exc.last, hint=RERUN_HINT) from exc
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
            image = self._wait_active(image_id, deadline, job_id)
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
            return wait(
                self.job_spec,
                lambda: self.client.get_job(job_id),
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                observer=observe,
                what=what,
            )
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

    def _wait_active(self, image_id: str, deadline: float, job_id: str) -> dict[str, Any] | None:
        """The image once active or killed; None if it vanished."""
        what = f"image {image_id} (IMS job {job_id}) to become active"
        try:
            image = wait(
                ACTIVE,
                lambda: self.client.get_image(image_id),
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                what=what,
            )
        except WaitTimeoutError as exc:
            raise WaitTimeoutError(exc.what, exc.elapsed, exc.last, hint=RERUN_HINT) from exc
        return image

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
        image = wait(
            ACTIVE,
            lambda: self.client.get_image(image_id),
            timeout=max(0.0, until - self.clock.monotonic()),
            clock=self.clock,
            what=f"image {image_id} of a failed attempt to settle before it is deleted",
        )
        if image is None or str(image.get("status", "")).lower() == "deleted":
            return False
        return self.client.delete_image(image_id)

    def _adopt(self, inputs: Mapping[str, Any], image_id: str, reporter: ProgressReporter) -> ImageRecord:
        """Take an existing private image of this project under management instead of creating one.

        The mutable attributes and tags the program sets are applied to it (the program says how the image
        should be, as after an update); anything it does not set is left as it is. From then on the image
        is the resource's: destroying the resource deletes it, unless the resource has ``retain_on_delete``.
        """
        deadline = self.clock.monotonic() + timeouts_of(inputs)["create"]
        image = self.client.get_image(image_id)
        if image is None or _status(image) == "deleted":
            raise ImsProviderError(
                f"existing_image_id: image {image_id} does not exist (or this project cannot see it)"
            )
        kind = image.get("__imagetype") or image.get("visibility")
        if {image.get("__imagetype"), image.get("visibility")} - {None, "private"}:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} is a {kind} image; only a private image of this "
                "project can be adopted"
            )
        project = self.client.project_id
        if image.get("owner") != project:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} belongs to project {image.get('owner')}, not to this "
                f"project ({project}); only the owner can manage it"
            )
        claim = recovery.claim_of(image)
        if claim and claim != image_id:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} is a data image of the PrivateImage with ID {claim}, "
                "which manages (and deletes) it"
            )
        if _status(image) in ("queued", "saving"):
            reporter.note(f"image {image_id} is {_status(image)}; waiting for it to become active")
            image = wait(
                ACTIVE,
                lambda: self.client.get_image(image_id),
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                what=f"image {image_id} to become active before it is adopted",
            )
        if image is None or _status(image) != "active":
            status = _status(image) if image is not None else "gone"
            raise ImsProviderError(
                f"existing_image_id: image {image_id} is {status}; only an active image can be adopted"
            )
        live = _live_attributes(image)
        wanted = {k: inputs[k] for k in _PATCHABLE if k in inputs}
        ops = _patch_ops({k: live.get(k) for k in wanted}, wanted, live=live)
        self._apply_ops(image_id, image, ops, deadline)
        tags_changed = self._sync_tags(image_id, None, declared_tags(inputs))
        if not claim:
            for note in recovery.claim_images(self.client, image, []):
                self.write(f"ims: {_label(inputs)}: warning: {note}")
        if ops or tags_changed or not claim:
            image = self._fresh(image_id)
        outputs = self._outputs(inputs, image, None, [])
        reporter.finish(f"adopted image {image_id}")
        return ImageRecord(image_id, outputs)

    def _outputs(
        self,
        inputs: Mapping[str, Any],
        image: Mapping[str, Any],
        job_id: str | None,
        data_ids: Sequence[str],
        data_items: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        # A data-images-only resource's ID is its first data image, whose tags are data_images[0]'s.
        top_level = source_of(inputs) is not Source.DATA_VOLUMES
        tags = self._live_tags(str(image["id"])) if top_level else None
        return outputs_for(
            inputs, image, job_id=job_id, data_image_ids=data_ids, live_tags=tags, data_images=data_items
        )

    def _live_tags(self, image_id: str) -> dict[str, str]:
        """The image's tags, without the provider's own claim tag (never the user's to see or remove)."""
        tags = tag_map(self.client.list_tags(image_id))
        tags.pop(recovery.CLAIM_TAG, None)
        return tags

    def _fresh(self, image_id: str) -> dict[str, Any]:
        image = self.client.get_image(image_id)
        if image is None:
            raise ImsProviderError(f"image {image_id} disappeared while it was being changed")
        return image

    # --- read -----------------------------------------------------------------------------------------

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        """The live image as outputs, or None when it is gone (so refresh drops it from state).

        ``props`` are the old outputs on refresh, or only ``__provider`` for ``PrivateImage.get``. The data
        images the resource made are checked too: one deleted outside Pulumi drops out of ``data_images``
        and ``data_image_ids``, so the next preview proposes to replace the resource and make it again.
        """
        data_ids = [str(i) for i in props.get("data_image_ids") or []]
        image = self.client.get_image(image_id)
        if image is None or _status(image) == "deleted":
            self._warn_orphans(image_id, data_ids)
            return None
        inputs = old_inputs(props)
        live_ids, items = self._data_state(inputs, image_id, data_ids)
        job_id = props.get("job_id")
        outputs = self._outputs(inputs, image, str(job_id) if job_id else None, live_ids, items)
        return ImageRecord(image_id, outputs)

    def _data_state(
        self, inputs: Mapping[str, Any], image_id: str, data_ids: Sequence[str]
    ) -> tuple[list[str], list[dict[str, Any]] | None]:
        """The data images that still exist, and the ``data_images`` entries with their live tags."""
        given = inputs.get("data_images")
        items = [dict(i) for i in given if isinstance(i, Mapping)] if isinstance(given, list) else None
        live_ids: list[str] = []
        live_items: list[dict[str, Any]] = []
        for index, data_id in enumerate(data_ids):
            item = items[index] if items is not None and index < len(items) else None
            if data_id != image_id:
                data_image = self.client.get_image(data_id)
                if data_image is None or _status(data_image) == "deleted":
                    continue
            live_ids.append(data_id)
            if item is not None:
                if declared_tags(item) is not None:
                    item = with_live_tags(item, self._live_tags(data_id))
                live_items.append(item)
        if items is not None:
            live_items += items[len(data_ids) :]
        return live_ids, live_items if items is not None else None

    def _warn_orphans(self, image_id: str, data_ids: Sequence[str]) -> None:
        left = []
        for data_id in data_ids:
            if data_id != image_id:
                data_image = self.client.get_image(data_id)
                if data_image is not None and _status(data_image) != "deleted":
                    left.append(data_id)
        if left:
            self.write(
                f"ims: warning: image {image_id} was deleted outside Pulumi, so the resource leaves the "
                f"state; its data images {', '.join(left)} still exist and are no longer managed (delete "
                "them, or adopt each with existing_image_id)"
            )

    # --- update ---------------------------------------------------------------------------------------

    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Apply changed name, description, RAM bounds and tags in place; return the full, fresh outputs.

        Attributes go through ``PATCH /v2/cloudimages/{id}``, one per request so that IMS's IMG.0035 ("no
        such attribute") is answered per attribute. Tags go through the tag API, and only when the program
        changed them: then the image gets exactly the program's tags with the smallest change (one delete
        of the keys that went away, one create of the new and changed ones). IMS refuses every PATCH on a
        data image (IMG.0168), so the top-level attributes apply to the system image only; each data image
        the resource made gets the tag changes of its ``data_images`` entry.
        """
        old = old_inputs(olds)
        new = user_inputs(news)
        deadline = self.clock.monotonic() + timeouts_of(new)["update"]
        ops = _patch_ops(old, new)
        self._apply_ops(image_id, olds, ops, deadline)
        data_only = Source.DATA_VOLUMES in (source_of(new), source_of(old))
        if not data_only:
            self._sync_tags(image_id, declared_tags(old), declared_tags(new))
        data_ids = [str(i) for i in olds.get("data_image_ids") or []]
        old_items, new_items = _items(old), _items(new)
        for index, data_id in enumerate(data_ids):
            old_item = old_items[index] if index < len(old_items) else {}
            new_item = new_items[index] if index < len(new_items) else {}
            self._sync_tags(data_id, declared_tags(old_item), declared_tags(new_item))
        job_id = olds.get("job_id")
        return self._outputs(new, self._fresh(image_id), str(job_id) if job_id else None, data_ids)

    def _apply_ops(
        self, image_id: str, image: Mapping[str, Any], ops: Sequence[dict[str, Any]], deadline: float
    ) -> None:
        if not ops:
            return
        kind = image.get("image_type") or image.get("virtual_env_type")
        if kind == "DataImage":
            paths = ", ".join(op["path"].lstrip("/").removeprefix("__") for op in ops)
            raise ImsProviderError(
                f"image {image_id} is a data image, and IMS does not let a data image's {paths} change "
                "(IMG.0168); only its tags can change in place"
            )
        for op in ops:
            self._patch(image_id, op, deadline)

    def _patch(self, image_id: str, op: dict[str, Any], deadline: float, *, settle: bool = True) -> None:
        """One attribute per PATCH, so IMS's IMG.0035 ("no such attribute") can be answered per attribute."""
        try:
            self.client.update_image(image_id, [op])
        except ImsApiError as exc:
            if exc.code == "IMG.0035":
                if op["op"] == "replace":  # the image never had it (e.g. max_ram): add it
                    self.client.update_image(image_id, [{**op, "op": "add"}])
                return  # a "remove" of an attribute the image does not have is already done
            if exc.code != "IMG.0046" or not settle:
                raise
            # Not active (yet): wait for it within timeouts.update, then try once more.
            wait(
                ACTIVE,
                lambda: self.client.get_image(image_id),
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                what=f"image {image_id} to become active so it can be updated",
            )
            self._patch(image_id, op, deadline, settle=False)

    def _sync_tags(self, image_id: str, old: dict[str, str] | None, new: dict[str, str] | None) -> bool:
        """Make the image's tags the program's, with at most one delete and one create; True if any changed.

        Nothing happens unless the declared tags changed (drift is refresh's to show). The change is
        computed against the live tags, so it is the smallest one even when the state is stale. Dropping
        the tags from the program removes the ones it had set, and leaves tags it never set alone.
        """
        if old == new:
            return False
        live = self._live_tags(image_id)
        if new is None:
            assert old is not None
            gone = [k for k in old if k in live]
            wanted: dict[str, str] = {}
        else:
            gone = [k for k in live if k not in new]
            wanted = new
        changed = [{"key": k, "value": v} for k, v in wanted.items() if live.get(k) != v]
        if gone:
            self.client.tags_action(image_id, "delete", [{"key": k, "value": live[k]} for k in gone])
        if changed:
            self.client.tags_action(image_id, "create", changed)
        return bool(gone or changed)

    # --- delete ---------------------------------------------------------------------------------------

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        """Delete every image the resource made (system and data), then wait until each is gone.

        An adopted image is the resource's and is deleted too (``retain_on_delete`` keeps it). The
        ``timeouts.delete`` used is the one in state: a change to ``timeouts`` alone is not an update.
        """
        timeout = timeouts_of(user_inputs(props))["delete"]
        deadline = self.clock.monotonic() + timeout
        ids = [image_id] + [str(i) for i in props.get("data_image_ids") or [] if str(i) != image_id]
        for each in ids:
            self._delete_one(each, deadline)
        for each in ids:
            wait(
                _GONE_AT_ONCE,
                lambda each=each: self.client.get_image(each),  # type: ignore[misc]
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                what=f"image {each} to be deleted",
            )

    def _delete_one(self, image_id: str, deadline: float) -> None:
        try:
            self.client.delete_image(image_id)
        except ImsApiError as exc:
            if exc.code != "IMG.0090":  # still being created: wait for it to settle, then delete
                raise
            wait(
                ACTIVE,
                lambda: self.client.get_image(image_id),
                timeout=max(0.0, deadline - self.clock.monotonic()),
                clock=self.clock,
                what=f"image {image_id} to finish creating before it is deleted",
            )
            self.client.delete_image(image_id)


def _label(inputs: Mapping[str, Any]) -> str:
    if inputs.get("name"):
        return str(inputs["name"])
    items = inputs.get("data_images") or []
    if items and isinstance(items[0], Mapping) and items[0].get("name"):
        return str(items[0]["name"])
    return str(inputs.get("existing_image_id") or "image")


# IMS deletes at once more often than not: look straight away, then back off as IMAGE_GONE does.
_GONE_AT_ONCE = GONE.with_schedule(dataclasses.replace(GONE.schedule, initial_delay=0.0))

# Inputs changed with PATCH, and the image attribute each one is.
_PATCHABLE = ("name", "description", "min_ram", "max_ram")
_ATTRIBUTE = {"name": "name", "description": "__description", "min_ram": "min_ram", "max_ram": "max_ram"}


def _status(image: Mapping[str, Any]) -> str:
    return str(image.get("status") or "").strip().lower()


def _live_attributes(image: Mapping[str, Any]) -> dict[str, Any]:
    """The image's patchable attributes under their input names (None where the image has none)."""
    return {key: image.get(attr) if image.get(attr) != "" else None for key, attr in _ATTRIBUTE.items()}


def _items(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    given = inputs.get("data_images")
    if not isinstance(given, list):
        return []
    return [item if isinstance(item, Mapping) else {} for item in given]


def _patch_ops(
    old: Mapping[str, Any], new: Mapping[str, Any], *, live: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """JSON-patch operations for the changed mutable attributes (tags go through the tag API).

    ``old`` is the state (or, when adopting, the live values of the attributes the program sets). A
    removed description or max_ram is removed; a removed min_ram (which IMS cannot remove) goes back to 0.
    The op is ``replace`` unless ``live`` shows the image lacks the attribute; IMG.0035 corrects a wrong
    guess. RAM bounds go in the order that keeps min_ram <= max_ram after each request.
    """

    def kind(key: str) -> str:
        return "add" if live is not None and live.get(key) is None else "replace"

    ops: list[dict[str, Any]] = []
    if new.get("name") is not None and new.get("name") != old.get("name"):
        ops.append({"op": kind("name"), "path": "/name", "value": new["name"]})
    old_desc, new_desc = old.get("description") or None, new.get("description") or None
    if new_desc != old_desc:
        if new_desc is None:
            ops.append({"op": "remove", "path": "/__description"})
        else:
            ops.append({"op": kind("description"), "path": "/__description", "value": new_desc})
    old_min, new_min = _as_int(old.get("min_ram")), _as_int(new.get("min_ram"))
    old_max, new_max = _as_int(old.get("max_ram")), _as_int(new.get("max_ram"))
    ram: list[dict[str, Any]] = []
    if new_min != old_min:
        ram.append({"op": "replace", "path": "/min_ram", "value": new_min if new_min is not None else 0})
    if new_max != old_max:
        if new_max is None:
            ram.append({"op": "remove", "path": "/max_ram"})
        else:
            ram.append({"op": kind("max_ram"), "path": "/max_ram", "value": new_max})
    if (new_min or 0) > (old_min or 0):
        ram.reverse()  # raising min_ram: move max_ram first
    return ops + ram


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)
