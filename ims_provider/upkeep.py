"""Looking after an image that exists: adopting it, reading it back, changing it in place, deleting it.

Read turns the live image (and the data images the resource made) into outputs, so refresh sees drift.
Update and adopt apply the program's mutable attributes with one PATCH each and its tags with the smallest
delta. Delete removes every image the resource made and waits until each is gone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ims_provider import recovery
from ims_provider.errors import ImsApiError, ImsProviderError
from ims_provider.operations import GONE, ImageOperations, ImageRecord, label_of
from ims_provider.spec import Source, source_of, timeouts_of
from ims_provider.state import declared_tags, old_inputs, user_inputs, with_live_tags

__all__ = ["Upkeep"]


class Upkeep(ImageOperations):
    """Adopt, read, update and delete; the images are the resource's once adopted or created."""

    # --- adopt ----------------------------------------------------------------------------------------

    def adopt(self, inputs: Mapping[str, Any], image_id: str) -> ImageRecord:
        """Take an existing private image of this project under management instead of creating one.

        The mutable attributes and tags the program sets are applied to it (the program says how the image
        should be, as after an update); anything it does not set is left as it is. From then on the image
        is the resource's: destroying the resource deletes it, unless the resource has ``retain_on_delete``.
        """
        reporter = self._reporter(label_of(inputs))
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
        if claim == image_id:
            # Moving an image between stacks (retain_on_delete, then adopt) looks exactly like this, so it is
            # allowed; but if the other resource still exists, two resources now manage one image.
            self.write(
                f"ims: {label_of(inputs)}: warning: image {image_id} is marked as made by a PrivateImage "
                "(possibly in another stack); if that resource still exists, remove it from its stack with "
                "retain_on_delete or `pulumi state delete`, or both will manage (and one delete) the image"
            )
        if _status(image) in ("queued", "saving"):
            reporter.note(f"image {image_id} is {_status(image)}; waiting for it to become active")
            what = f"image {image_id} to become active before it is adopted"
            image = self._settled_image(image_id, deadline, what)
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
                self.write(f"ims: {label_of(inputs)}: warning: {note}")
        if ops or tags_changed or not claim:
            image = self._fresh(image_id)
        outputs = self._outputs(inputs, image, None, [])
        reporter.finish(f"adopted image {image_id}")
        return ImageRecord(image_id, outputs)

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
            self._settled_image(image_id, deadline, f"image {image_id} to become active so it can be updated")
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
