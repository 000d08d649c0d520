"""ImageCopy's operations: copy an image within the provider's region or to another, then look after the
copy where it lives.

What is its own: which copy request goes out (and that the job is polled in the provider's region even when
the copy lands in another), the region every later call goes to, and the RAM bounds and tags applied once the
copy is active. Everything else is PrivateImage's machinery: recovery of an interrupted copy
(:meth:`~ims_provider.create.Creation.make`), claims, PATCH per attribute, tag sync, delete-and-wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ims_provider import recovery
from ims_provider.create import Creation
from ims_provider.errors import ImsProviderError, WaitTimeoutError
from ims_provider.model.image_copy import (
    IMAGE_COPY,
    IN_REGION,
    copy_request,
    shape_of_copy,
    timeouts_of,
)
from ims_provider.model.live import LiveImage
from ims_provider.model.tags import declared_tags
from ims_provider.operations import DEFAULT_OPTIONS, ImageRecord, RunOptions
from ims_provider.regions import RegionalClients
from ims_provider.turns import TURNS
from ims_provider.upkeep import patch_ops, patches_onto

__all__ = ["CopyLifecycle"]


class CopyLifecycle:
    """Create, read, update and delete of one ImageCopy; one instance serves every host thread."""

    def __init__(self, clients: RegionalClients, options: RunOptions = DEFAULT_OPTIONS) -> None:
        self.clients = clients
        self.options = options
        self.clock = options.clock
        self.write = options.write

    @property
    def home_region(self) -> str:
        return self.clients.region

    def _in(self, region: str) -> Creation:
        """The operations on images in ``region``; jobs are polled in the provider's own region."""
        return Creation(self.clients(region), self.options, job_client=self.clients.home)

    def create(self, props: Mapping[str, Any]) -> ImageRecord:
        """Copy the image (or adopt the copy an interrupted attempt made), then set the RAM bounds and tags
        the program asks for on it, and claim it."""
        inputs = IMAGE_COPY.set_inputs(props)
        home = self.clients.home
        region = IMAGE_COPY.lives_in(inputs, self.home_region)
        path, body = copy_request(inputs, self.home_region)
        shape = shape_of_copy(inputs, self.home_region)
        ops = self._in(region)
        start = self.clock.monotonic()
        deadline = start + timeouts_of(inputs)["create"]
        label = str(inputs["name"])
        reporter = ops._reporter(label)
        source = str(inputs["source_image_id"])
        if path == IN_REGION:
            submit: Callable[[], str] = lambda: home.copy_image(source, body)  # noqa: E731
        else:
            submit = lambda: home.copy_image_cross_region(source, body)  # noqa: E731

        def waiting(key: str, holder: str) -> None:
            reporter.note(f"waiting for {holder or 'another resource'}, which makes the same copy, to finish")

        with TURNS.taken(shape.keys, label, deadline - start, waiting) as acquired:
            if not acquired:
                raise WaitTimeoutError(
                    f"another copy of {source} named {label!r} in this deployment to finish",
                    self.clock.monotonic() - start,
                    hint="Two copies with the same name of the same image are made one after the other.",
                )
            job_id, images = ops.make(shape, submit, deadline, reporter, label)
            [image] = images
            try:
                ops.apply_patches(image, patches_onto(IMAGE_COPY, inputs, image), deadline)
                ops.sync_tags(image.id, None, declared_tags(inputs))
            except ImsProviderError as exc:
                raise ImsProviderError(
                    f"the copy {image.id} was made in {region}, but setting the RAM bounds and tags the "
                    f"program asks for on it failed: {exc}. The copy is not in the Pulumi state: run "
                    "`pulumi up` again once the cause is fixed (the copy is adopted: RAM bounds and tags are "
                    "not compared), or delete it"
                ) from exc
            for note in recovery.claim_images(ops.client, image, []):
                self.write(f"ims: {label}: warning: {note}")
            fresh = ops._fresh(image.id, tags=True)
        reporter.finish(f"copy {image.id} in {region} active")
        return ImageRecord(image.id, IMAGE_COPY.state(inputs, fresh, {"job_id": job_id, "region": region}))

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        """The copy as it is in its region, or None when it is gone there."""
        region = IMAGE_COPY.lives_in(props, self.home_region)
        ops = self._in(region)
        raw = ops.client.get_image(image_id)
        if raw is None or LiveImage(raw).gone:
            return None
        image = recovery.look_up(ops.client, LiveImage(raw))
        applied = IMAGE_COPY.applied_inputs(props)
        job_id = props.get("job_id")
        computed = {"job_id": str(job_id) if job_id else None, "region": region}
        return ImageRecord(image_id, IMAGE_COPY.state(applied, image, computed))

    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Name, description, RAM bounds and tags change in place on the copy, in its region."""
        region = IMAGE_COPY.lives_in(olds, self.home_region)
        ops = self._in(region)
        old = IMAGE_COPY.applied_inputs(olds)
        new = IMAGE_COPY.set_inputs(news)
        deadline = self.clock.monotonic() + timeouts_of(new)["update"]
        image = LiveImage({"id": image_id, "virtual_env_type": olds.get("image_type")})
        ops.apply_patches(image, patch_ops(IMAGE_COPY, old, new), deadline)
        ops.sync_tags(image_id, declared_tags(old), declared_tags(new))
        fresh = ops._fresh(image_id, tags=True)
        job_id = olds.get("job_id")
        return IMAGE_COPY.state(new, fresh, {"job_id": str(job_id) if job_id else None, "region": region})

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        """Delete the copy in its region and wait until it is gone."""
        region = IMAGE_COPY.lives_in(props, self.home_region)
        deadline = self.clock.monotonic() + timeouts_of(IMAGE_COPY.applied_inputs(props))["delete"]
        try:
            self._in(region).delete_images([image_id], deadline)
        except ImsProviderError as exc:
            raise ImsProviderError(f"deleting the copy {image_id} in {region}: {exc}") from exc
