"""Looking after an image that exists: adopting it, reading it back, changing it in place, deleting it.

Read turns the live image (and the data images the resource made) into outputs, so refresh sees drift.
Update and adopt apply the program's mutable attributes with one PATCH each (the operations are derived from
the model: :func:`patch_ops`) and its tags with the smallest delta. Delete removes every image the resource
made and waits until each is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ims_provider import recovery
from ims_provider.errors import ImsProviderError
from ims_provider.model.live import CLAIM_TAG, KIND_KEY, LiveImage
from ims_provider.model.private_image import PRIVATE_IMAGE, label_of, timeouts_of
from ims_provider.model.schema import KEEP, REMOVE, ResourceSchema
from ims_provider.model.tags import declared_tags, in_program_form
from ims_provider.operations import ImageOperations, ImageRecord

__all__ = ["Upkeep", "patch_ops", "patches_onto"]


class Upkeep(ImageOperations):
    """Adopt, read, update and delete; the images are the resource's once adopted or created."""

    # --- adopt ----------------------------------------------------------------------------------------

    def adopt(self, inputs: Mapping[str, Any], image_id: str) -> ImageRecord:
        """Take an existing private image of this project under management instead of creating one.

        The mutable attributes and tags the program sets are applied to it (the program says how the image
        should be, as after an update); anything it does not set is left as it is. From then on the image
        is the resource's: destroying the resource deletes it, unless the resource has ``retain_on_delete``.
        """
        label = label_of(inputs)
        reporter = self._reporter(label)
        deadline = self.clock.monotonic() + timeouts_of(inputs)["create"]
        raw = self.client.get_image(image_id)
        if raw is None or LiveImage(raw).gone:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} does not exist (or this project cannot see it)"
            )
        image = recovery.look_up(self.client, LiveImage(raw))
        if not image.private:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} is a {image.kind} image; only a private image of this "
                "project can be adopted"
            )
        project = self.client.project_id
        if image.owner != project:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} belongs to project {image.owner}, not to this "
                f"project ({project}); only the owner can manage it"
            )
        claim = image.claim
        if claim and claim != image_id and not image.is_data_image:
            # Only data images are claimed with another image's ID (their primary's): a system image that
            # carries one took it from its source when it was copied (IMS may copy custom attributes), so no
            # resource tracks it.
            claim = None
        if claim and claim != image_id:
            raise ImsProviderError(
                f"existing_image_id: image {image_id} is a data image of the PrivateImage with ID {claim}, "
                "which manages (and deletes) it (or a copy of one, which carries that claim: to adopt it "
                f"here, delete its {CLAIM_TAG} tag first)"
            )
        if claim == image_id:
            # Moving an image between stacks (retain_on_delete, then adopt) looks exactly like this, so it is
            # allowed; but if the other resource still exists, two resources now manage one image.
            self.write(
                f"ims: {label}: warning: image {image_id} is marked as made by a PrivateImage "
                "(possibly in another stack); if that resource still exists, remove it from its stack with "
                "retain_on_delete or `pulumi state delete`, or both will manage (and one delete) the image"
            )
        if image.status in ("queued", "saving"):
            reporter.note(f"image {image_id} is {image.status}; waiting for it to become active")
            settled = self._settled_image(
                image_id, deadline, f"image {image_id} to become active before it is adopted"
            )
            if settled is None:
                raise ImsProviderError(f"existing_image_id: image {image_id} is gone; it cannot be adopted")
            image = recovery.look_up(self.client, settled)
        if image.status != "active":
            raise ImsProviderError(
                f"existing_image_id: image {image_id} is {image.status}; only an active image can be adopted"
            )
        ops = patches_onto(PRIVATE_IMAGE, inputs, image)
        self.apply_patches(image, ops, deadline)
        tags_changed = self.sync_tags(image_id, None, declared_tags(inputs))
        if not claim:
            for note in recovery.claim_images(self.client, image, []):
                self.write(f"ims: {label}: warning: {note}")
        fresh = self._fresh(image_id, tags=True) if ops or tags_changed or not claim else image
        outputs = self._outputs(inputs, fresh, None, [])
        reporter.finish(f"adopted image {image_id}")
        return ImageRecord(image_id, outputs)

    # --- read -----------------------------------------------------------------------------------------

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        """The live image as outputs, or None when it is gone (so refresh drops it from state).

        ``props`` are the old outputs on refresh, or none for ``PrivateImage.get``. The data images the
        resource made are checked too: one deleted outside Pulumi drops out of ``data_images`` and
        ``data_image_ids``, so the next preview proposes to replace the resource and make it again.
        """
        data_ids = [str(i) for i in props.get("data_image_ids") or []]
        raw = self.client.get_image(image_id)
        if raw is None or LiveImage(raw).gone:
            self._warn_orphans(image_id, data_ids)
            return None
        applied = PRIVATE_IMAGE.applied_inputs(props)
        live_ids, entries = self._data_state(applied, image_id, data_ids)
        if entries is not None:
            applied = {**applied, "data_images": entries}
        image = LiveImage(raw)
        if self._tags_are_top_level(applied):
            image = recovery.look_up(self.client, image)
        job_id = props.get("job_id")
        outputs = self._outputs(applied, image, str(job_id) if job_id else None, live_ids)
        return ImageRecord(image_id, outputs)

    def _data_state(
        self, inputs: Mapping[str, Any], image_id: str, data_ids: Sequence[str]
    ) -> tuple[list[str], list[dict[str, Any]] | None]:
        """The data images that still exist, and the ``data_images`` entries with their live tags."""
        given = inputs.get("data_images")
        entries = [dict(i) for i in given if isinstance(i, Mapping)] if isinstance(given, list) else None
        live_ids: list[str] = []
        live_entries: list[dict[str, Any]] = []
        for index, data_id in enumerate(data_ids):
            entry = entries[index] if entries is not None and index < len(entries) else None
            if data_id != image_id:
                data_image = self.client.get_image(data_id)
                if data_image is None or LiveImage(data_image).gone:
                    continue
            live_ids.append(data_id)
            if entry is not None:
                if declared_tags(entry) is not None:
                    live = recovery.look_up(self.client, LiveImage({"id": data_id})).user_tags()
                    key, value = in_program_form(entry, live)
                    entry = {
                        **{k: v for k, v in entry.items() if k not in ("tags", "image_tags")},
                        key: value,
                    }
                live_entries.append(entry)
        if entries is not None:
            live_entries += entries[len(data_ids) :]
        return live_ids, live_entries if entries is not None else None

    def _warn_orphans(self, image_id: str, data_ids: Sequence[str]) -> None:
        left = []
        for data_id in data_ids:
            if data_id != image_id:
                data_image = self.client.get_image(data_id)
                if data_image is not None and not LiveImage(data_image).gone:
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
        old = PRIVATE_IMAGE.applied_inputs(olds)
        new = PRIVATE_IMAGE.set_inputs(news)
        deadline = self.clock.monotonic() + timeouts_of(new)["update"]
        ops = patch_ops(PRIVATE_IMAGE, old, new)
        self.apply_patches(LiveImage({"id": image_id, KIND_KEY: olds.get("image_type")}), ops, deadline)
        top_level = self._tags_are_top_level(new) and self._tags_are_top_level(old)
        if top_level:
            self.sync_tags(image_id, declared_tags(old), declared_tags(new))
        data_ids = [str(i) for i in olds.get("data_image_ids") or []]
        old_entries, new_entries = _entries(old), _entries(new)
        for index, data_id in enumerate(data_ids):
            old_entry = old_entries[index] if index < len(old_entries) else {}
            new_entry = new_entries[index] if index < len(new_entries) else {}
            self.sync_tags(data_id, declared_tags(old_entry), declared_tags(new_entry))
        job_id = olds.get("job_id")
        fresh = self._fresh(image_id, tags=top_level)
        return self._outputs(new, fresh, str(job_id) if job_id else None, data_ids)

    # --- delete ---------------------------------------------------------------------------------------

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        """Delete every image the resource made (system and data), then wait until each is gone.

        An adopted image is the resource's and is deleted too (``retain_on_delete`` keeps it). The
        ``timeouts.delete`` used is the one in state: a change to ``timeouts`` alone is not an update.
        """
        timeout = timeouts_of(PRIVATE_IMAGE.applied_inputs(props))["delete"]
        deadline = self.clock.monotonic() + timeout
        ids = [image_id] + [str(i) for i in props.get("data_image_ids") or [] if str(i) != image_id]
        self.delete_images(ids, deadline)


def _entries(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    given = inputs.get("data_images")
    if not isinstance(given, list):
        return []
    return [entry if isinstance(entry, Mapping) else {} for entry in given]


def patch_ops(
    schema: ResourceSchema,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    live: LiveImage | None = None,
) -> list[dict[str, Any]]:
    """JSON-patch operations for the changed attributes the schema changes with PATCH (tags go through the
    tag API).

    ``old`` is the applied inputs (or, when adopting, the live values of the attributes the program sets).
    An input the program drops sends what its :class:`~ims_provider.model.schema.Patch` says (removed, a
    default value, or nothing). The op is ``replace`` unless ``live`` shows the image lacks the attribute;
    IMG.0035 corrects a wrong guess. RAM bounds go in the order that keeps min_ram <= max_ram after each
    request.
    """
    ops: list[dict[str, Any]] = []
    for field in schema.patched:
        assert field.patch is not None
        before, after = field.compare(old.get(field.name)), field.compare(new.get(field.name))
        if before == after:
            continue
        if after is None:
            if field.patch.unset is KEEP:
                continue
            if field.patch.unset is REMOVE:
                ops.append({"op": "remove", "path": field.patch.path})
            else:
                ops.append({"op": "replace", "path": field.patch.path, "value": field.patch.unset})
            continue
        lacking = (
            live is not None
            and field.reported is not None
            and live.attribute(field.reported.key) in (None, "")
        )
        ops.append({"op": "add" if lacking else "replace", "path": field.patch.path, "value": after})
    return _ram_in_order(ops, old, new)


def patches_onto(schema: ResourceSchema, inputs: Mapping[str, Any], image: LiveImage) -> list[dict[str, Any]]:
    """The PATCH operations that give an image that exists (adopted, or just copied) the attributes the
    program sets; what the program leaves out stays as it is."""
    wanted = {f.name: inputs[f.name] for f in schema.patched if inputs.get(f.name) is not None}
    current = {name: schema.in_program_terms(schema.field(name), None, image) for name in wanted}
    return patch_ops(schema, current, wanted, live=image)


def _ram_in_order(
    ops: list[dict[str, Any]], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Raising min_ram moves max_ram first, so that no request in between leaves min_ram above max_ram."""
    ram = [op for op in ops if op["path"] in ("/min_ram", "/max_ram")]
    others = [op for op in ops if op not in ram]
    if (_number(new.get("min_ram")) or 0) > (_number(old.get("min_ram")) or 0):
        ram.sort(key=lambda op: op["path"] != "/max_ram")
    else:
        ram.sort(key=lambda op: op["path"] != "/min_ram")
    return others + ram


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
