"""Create, read, update and delete of one PrivateImage against IMS, independent of the Pulumi engine.

``provider.py`` adapts these to the dynamic-provider interface; tests and benchmarks can drive them
directly. Each operation owns its deadline (the engine passes none to a Python dynamic provider).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from ims_provider.client import ImsClient
from ims_provider.errors import (
    AmbiguousRequestError,
    ImsApiError,
    ImsProviderError,
    JobFailedError,
    WaitTimeoutError,
)
from ims_provider.jobs import IMAGE_ACTIVE, IMAGE_GONE, JOB_DONE, SYSTEM_CLOCK, Clock, Outcome, wait
from ims_provider.progress import ProgressReporter
from ims_provider.spec import Source, build_body, source_of, timeouts_of
from ims_provider.state import old_inputs, outputs_for, tag_map, user_inputs


def is_transient(exc: BaseException) -> bool:
    """Errors that must not end a wait before its deadline: throttling, 5xx, dropped connections."""
    if isinstance(exc, ImsApiError):
        return exc.status == 429 or exc.status >= 500 or exc.code == "IMG.0060"
    return isinstance(exc, requests.RequestException | AmbiguousRequestError)


JOB = JOB_DONE.with_transient(is_transient)
ACTIVE = IMAGE_ACTIVE.with_transient(is_transient)
GONE = IMAGE_GONE.with_transient(is_transient)


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
    ids: list[str] = []
    top = entities.get("image_id")
    if top:
        ids.append(str(top))
    for sub in entities.get("sub_jobs_result") or []:
        sub_id = (sub.get("entities") or {}).get("image_id")
        if sub_id and str(sub_id) not in ids:
            ids.append(str(sub_id))
    return ids


def failed_sub_jobs(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    entities = job.get("entities") or {}
    return [dict(sub) for sub in entities.get("sub_jobs_result") or [] if sub.get("status") == "FAIL"]


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

    # --- create ---------------------------------------------------------------------------------------

    def create(self, props: Mapping[str, Any]) -> ImageRecord:
        inputs = user_inputs(props)
        timeout = timeouts_of(inputs)["create"]
        start = self.clock.monotonic()
        label = _label(inputs)
        reporter = ProgressReporter(label, write=self.write, clock=self.clock, enabled=self.progress)
        if inputs.get("existing_image_id"):
            return self._adopt(inputs, str(inputs["existing_image_id"]), reporter)
        body = build_body(inputs)
        job_id = self.client.create_image(body)
        reporter.note(f"submitted IMS job {job_id}")
        job = self._wait_job(job_id, start + timeout, reporter)
        image_ids = job_image_ids(job)
        subs = failed_sub_jobs(job)
        if job.get("status") == "FAIL" or subs:
            cleaned = self._discard(image_ids)
            raise JobFailedError(job_id, job.get("error_code"), job.get("fail_reason"), subs, cleaned)
        if not image_ids:
            raise ImsProviderError(f"IMS job {job_id} succeeded but reported no image ID")
        try:
            images = [self._wait_active(i, start + timeout, job_id) for i in image_ids]
        except JobFailedError:
            self._discard(image_ids)
            raise
        system = [img for img in images if img.get("virtual_env_type") != "DataImage"]
        data = [img for img in images if img.get("virtual_env_type") == "DataImage"]
        data_ids = order_data_images(inputs.get("data_images") or [], data)
        primary = system[0] if system else next(img for img in data if img["id"] == data_ids[0])
        outputs = self._outputs(inputs, primary, job_id, data_ids)
        reporter.finish(f"image {primary['id']} active")
        return ImageRecord(str(primary["id"]), outputs)

    def _wait_job(self, job_id: str, deadline: float, reporter: ProgressReporter) -> dict[str, Any]:
        remaining = max(0.0, deadline - self.clock.monotonic())
        try:
            return wait(
                self.job_spec,
                lambda: self.client.get_job(job_id),
                timeout=remaining,
                clock=self.clock,
                observer=reporter,
                what=f"IMS job {job_id}",
            )
        except WaitTimeoutError as exc:
            known = job_image_ids(exc.last) if isinstance(exc.last, Mapping) else []
            images = f" (image {', '.join(known)})" if known else ""
            raise WaitTimeoutError(
                f"IMS job {job_id}{images}",
                exc.elapsed,
                exc.last,
                hint=(
                    "The job may still finish and make the image. Run `pulumi up` again with the same inputs "
                    "and a longer timeouts.create to pick it up, or adopt the image with existing_image_id "
                    "once it is active."
                ),
            ) from exc

    def _wait_active(self, image_id: str, deadline: float, job_id: str) -> dict[str, Any]:
        remaining = max(0.0, deadline - self.clock.monotonic())
        image = wait(
            ACTIVE,
            lambda: self.client.get_image(image_id),
            timeout=remaining,
            clock=self.clock,
            what=f"image {image_id} (IMS job {job_id}) to become active",
        )
        if image is None or IMAGE_ACTIVE.classify(image) is not Outcome.SUCCESS:
            status = image.get("status") if image else "gone"
            raise JobFailedError(job_id, None, f"image {image_id} ended {status} instead of active")
        return image

    def _discard(self, image_ids: Sequence[str]) -> list[str]:
        """Delete what a failed job did make, so a failure leaves nothing behind."""
        deleted = []
        for image_id in image_ids:
            try:
                if self.client.delete_image(image_id):
                    deleted.append(image_id)
            except ImsApiError as exc:
                self.write(f"ims: could not delete image {image_id} of a failed job: {exc}")
        return deleted

    def _adopt(self, inputs: Mapping[str, Any], image_id: str, reporter: ProgressReporter) -> ImageRecord:
        image = self.client.get_image(image_id)
        if image is None:
            raise ImsProviderError(f"existing_image_id: image {image_id} does not exist (or is not visible)")
        project = self.client.project_id
        if image.get("__imagetype") not in (None, "private") or image.get("visibility") == "public":
            raise ImsProviderError(f"existing_image_id: image {image_id} is not a private image")
        if image.get("owner") not in (None, project):
            raise ImsProviderError(f"existing_image_id: image {image_id} belongs to another project")
        outputs = self._outputs(inputs, image, None, [])
        reporter.finish(f"adopted image {image_id} ({image.get('status')})")
        return ImageRecord(image_id, outputs)

    def _outputs(
        self, inputs: Mapping[str, Any], image: Mapping[str, Any], job_id: str | None, data_ids: Sequence[str]
    ) -> dict[str, Any]:
        top_level = source_of(inputs) is not Source.DATA_VOLUMES
        tags = tag_map(self.client.list_tags(str(image["id"]))) if top_level else None
        return outputs_for(inputs, image, job_id=job_id, data_image_ids=data_ids, live_tags=tags)

    # --- read -----------------------------------------------------------------------------------------

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        """The live image as outputs, or None when it is gone (so refresh drops it from state)."""
        image = self.client.get_image(image_id)
        if image is None or image.get("status") in ("deleted", "killed"):
            return None
        inputs = old_inputs(props)
        data_ids = [str(i) for i in props.get("data_image_ids") or []]
        job_id = props.get("job_id")
        outputs = self._outputs(inputs, image, str(job_id) if job_id else None, data_ids)
        return ImageRecord(image_id, outputs)

    # --- update ---------------------------------------------------------------------------------------

    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        old = old_inputs(olds)
        new = user_inputs(news)
        for op in _patch_ops(old, new):
            self._patch(image_id, op)
        old_tags = tag_map(old.get("tags") or old.get("image_tags"))
        new_tags = tag_map(new.get("tags") or new.get("image_tags"))
        gone = [{"key": k, "value": v} for k, v in old_tags.items() if k not in new_tags]
        changed = [{"key": k, "value": v} for k, v in new_tags.items() if old_tags.get(k) != v]
        if gone:
            self.client.tags_action(image_id, "delete", gone)
        if changed:
            self.client.tags_action(image_id, "create", changed)
        image = self.client.get_image(image_id)
        if image is None:
            raise ImsProviderError(f"image {image_id} disappeared during the update")
        data_ids = [str(i) for i in olds.get("data_image_ids") or []]
        job_id = olds.get("job_id")
        return self._outputs(new, image, str(job_id) if job_id else None, data_ids)

    def _patch(self, image_id: str, op: dict[str, Any]) -> None:
        """One attribute per PATCH, so IMS's IMG.0035 ("no such attribute") can be answered per attribute."""
        try:
            self.client.update_image(image_id, [op])
        except ImsApiError as exc:
            if exc.code != "IMG.0035":
                raise
            if op["op"] == "replace":
                self.client.update_image(image_id, [{**op, "op": "add"}])
            # A "remove" of an attribute the image does not have is already done.

    # --- delete ---------------------------------------------------------------------------------------

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        """Delete every image the resource made (system and data), then wait until each is gone."""
        timeout = timeouts_of(user_inputs(props))["delete"]
        deadline = self.clock.monotonic() + timeout
        ids = [image_id] + [str(i) for i in props.get("data_image_ids") or [] if str(i) != image_id]
        for each in ids:
            self._delete_one(each, deadline)
        for each in ids:
            wait(
                GONE,
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


def _patch_ops(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSON-patch operations for the changed mutable attributes (tags go through the tag API)."""
    ops: list[dict[str, Any]] = []
    if new.get("name") is not None and new.get("name") != old.get("name"):
        ops.append({"op": "replace", "path": "/name", "value": new["name"]})
    old_desc, new_desc = old.get("description") or None, new.get("description") or None
    if new_desc != old_desc:
        if new_desc is None:
            ops.append({"op": "remove", "path": "/__description"})
        else:
            ops.append({"op": "replace", "path": "/__description", "value": new_desc})
    for key in ("min_ram", "max_ram"):
        old_v, new_v = _as_int(old.get(key)), _as_int(new.get(key))
        if new_v != old_v:
            ops.append({"op": "replace", "path": f"/{key}", "value": new_v if new_v is not None else 0})
    return ops


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)
