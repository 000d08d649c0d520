"""All emulator state and every IMS rule, with no HTTP in sight (moto's backend/response split).

`Backend` gathers the actions, each a method named after the API action it serves: creates (creates.py),
copies (copies.py), sharing (sharing.py), and here the reads and changes of existing images. The state,
accounts, regions and who may see which image are in core.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ims_provider.emulator import listing, validation
from ims_provider.emulator.accounts import Caller
from ims_provider.emulator.copies import CopyActions
from ims_provider.emulator.core import Entry, not_found
from ims_provider.emulator.creates import JOB_TYPES, CreateActions
from ims_provider.emulator.errors import bad_request
from ims_provider.emulator.images import RESERVED
from ims_provider.emulator.regions import Region
from ims_provider.emulator.sharing import SharingActions

__all__ = ["JOB_TYPES", "Backend"]


class Backend(CreateActions, CopyActions, SharingActions):
    """The emulated cloud: accounts, regions with their resources, images, jobs and members; faults; log."""

    def list_images(self, caller: Caller, query: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
        """GET /v2/cloudimages: the caller's images in its region, the public ones and the ones shared with
        it, filtered, sorted and paged (listing.py)."""
        parsed = listing.parse_query(query)
        with self._lock:
            region = self.regions[caller.region]
            entries = []
            for entry in self._live(region, self.clock.now()):
                image = entry[0]
                relation = self._relation(caller, region, image)
                if relation is None:
                    continue
                member = region.members.get(image.id, caller.project_id) if relation == "member" else None
                entries.append(
                    listing.Listed(
                        body=self._view(caller, region, entry, relation),
                        seq=image.seq,
                        tags=dict(image.tags),
                        relation=relation,
                        member_status=member.status if member else None,
                    )
                )
        return listing.select(entries, parsed)

    def get_image(self, caller: Caller, image_id: str) -> dict[str, Any]:
        """GET /v2/images/{id}: an image the caller can see (a member sees it whatever its answer)."""
        with self._lock:
            region, entry, relation = self._visible(caller, image_id, self.clock.now())
            return self._view(caller, region, entry, relation)

    def _owned(self, caller: Caller, image_id: str, now: float, code: str, what: str) -> tuple[Region, Entry]:
        """An image the caller owns (not deleted); another tenant's image it can see: 400 `code`."""
        region, entry, relation = self._visible(caller, image_id, now)
        if entry[1] == "deleted":
            raise not_found(image_id)
        if relation != "owner":
            raise bad_request(code, what)
        return region, entry

    def update_image(self, caller: Caller, image_id: str, body: object) -> dict[str, Any]:
        """PATCH /v2/cloudimages/{id}: all operations apply, or none does; the owner's only (IMG.0047)."""
        with self._lock:
            now = self.clock.now()
            region, (image, status, job) = self._owned(
                caller, image_id, now, "IMG.0047", "This operation can be performed only by the image owner."
            )
            ops = validation.parse_patch(body, RESERVED)
            if image.data_image:
                raise bad_request("IMG.0168", "A data disk image cannot be updated.")
            if status != "active":
                raise bad_request(
                    "IMG.0046", f"The image {image_id} is {status}; only active images can be updated."
                )
            attrs = dict(image.attrs)
            for op in ops:
                if op.op in ("replace", "remove") and op.attr not in attrs:
                    raise bad_request("IMG.0035", f"The image has no attribute {op.attr} to {op.op}.")
                if op.op == "remove":
                    if op.attr in ("min_ram", "enterprise_project_id"):
                        raise bad_request("IMG.0001", f"The attribute {op.attr} cannot be removed.")
                    del attrs[op.attr]
                    continue
                value = validation.patch_value(op.attr, op.value)
                attrs[op.attr] = str(value) if op.attr == "max_ram" else value
            max_ram = attrs.get("max_ram")
            validation.check_ram_pair(attrs.get("min_ram"), int(max_ram) if max_ram is not None else None)
            if attrs.get("__support_arm") == "true" and attrs.get("hw_firmware_type") == "bios":
                raise bad_request("IMG.0141", "Arm images support only uefi boot.")
            image.attrs = attrs
            image.modified = now
            return self._view(caller, region, (image, status, job), "owner")

    def list_tags(self, caller: Caller, image_id: str) -> list[dict[str, str]]:
        with self._lock:
            _, (image, _, _), _ = self._visible(caller, image_id, self.clock.now())
            return [{"key": k, "value": v} for k, v in image.tags.items()]

    def tags_action(self, caller: Caller, image_id: str, body: object) -> None:
        """POST .../tags/action: create upserts (max 10 per image), delete ignores missing keys."""
        action, pairs = validation.validate_tags_action(body)
        with self._lock:
            now = self.clock.now()
            _, (image, _, _) = self._owned(
                caller, image_id, now, "IMG.0047", "This operation can be performed only by the image owner."
            )
            tags = dict(image.tags)
            for key, value in pairs:
                if action == "create":
                    tags[key] = value
                else:
                    tags.pop(key, None)
            if len(tags) > validation.MAX_TAGS:
                raise bad_request("IMG.0116", f"An image can have at most {validation.MAX_TAGS} tags.")
            image.tags = tags
            image.modified = now

    def delete_image(self, caller: Caller, image_id: str, body: object) -> None:
        """DELETE /v2/images/{id}: the owner's only (IMG.0092; a public image IMG.0094), refused while the
        image is being created (IMG.0090); its members go with it."""
        if body is not None:
            if not isinstance(body, dict) or set(body) - {"delete_backup"}:
                raise bad_request("IMG.0001", 'The delete body may only be {"delete_backup": bool}.')
            if not isinstance(body.get("delete_backup", False), bool):
                raise bad_request("IMG.0001", "delete_backup must be a boolean.")
        with self._lock:
            now = self.clock.now()
            region, (image, status, _), relation = self._visible(caller, image_id, now)
            if status == "deleted":
                raise not_found(image_id)
            if relation == "public":
                raise bad_request("IMG.0094", "The public image cannot be deleted.")
            if relation != "owner":
                raise bad_request("IMG.0092", "The image can only be deleted by the owner.")
            if image.attrs.get("protected") is True:
                raise bad_request("IMG.0028", "The image in the request is protected.")
            if status in ("queued", "saving"):
                raise bad_request("IMG.0090", f"The image {image_id} is being created and cannot be deleted.")
            image.deleted_at = now
            image.delete_seconds = float(self.settings.delete_seconds)
            region.members.forget_image(image_id)
            if image.delete_seconds <= 0:
                del region.images[image_id]

    def show_image_quota(self, caller: Caller) -> dict[str, Any]:
        """GET /v1/cloudimages/quota: the private image quota of the caller's project in this region (the one
        entry of the official example; ims-api-more.md §6)."""
        with self._lock:
            used = self._count_images(self.regions[caller.region], caller.project_id, self.clock.now())
        quota = {"type": "image", "used": used, "quota": self.settings.image_quota, "min": 1, "max": 1000}
        return {"quotas": {"resources": [quota]}}
