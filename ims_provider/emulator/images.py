"""Private images and how they look on the wire (ListImages / GlanceShowImage / UpdateImage).

An image's status is derived from its job and the clock: queued while the job initialises, saving while it
runs, active once it succeeds (plus `activation_seconds`), gone when it fails; a deleted image shows as
`deleted` for `delete_seconds` and then disappears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ims_provider.emulator import osversions
from ims_provider.emulator.jobs import Job

GIB = 1024**3
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"

# Keys a PATCH may never touch (the rest of the image object is computed or fixed at creation).
RESERVED = frozenset(
    {
        "id",
        "status",
        "visibility",
        "protected",
        "owner",
        "min_disk",
        "disk_format",
        "container_format",
        "size",
        "virtual_size",
        "checksum",
        "tags",
        "created_at",
        "updated_at",
        "active_at",
        "self",
        "file",
        "schema",
        "virtual_env_type",
    }
)


def new_attrs(
    *,
    name: str,
    owner: str,
    ep: str,
    min_disk: int,
    env: str,
    origin: str,
    os_version: str | None,
    os_type: str | None = None,
    disk_format: str = "zvhd2",
    description: str | None = None,
    min_ram: int | None = None,
    max_ram: int | None = None,
) -> dict[str, Any]:
    """The attributes of a new private image, as IMS shows them (`ImageInfo`); OS fields from the OS list."""
    found = osversions.lookup(os_version) if os_version else None
    size = min_disk * GIB // 8
    attrs: dict[str, Any] = {
        "name": name,
        "visibility": "private",
        "protected": False,
        "owner": owner,
        "min_disk": min_disk,
        "min_ram": min_ram or 0,
        "disk_format": disk_format,
        "container_format": "bare",
        "size": size,
        "virtual_size": None,
        "checksum": EMPTY_MD5,
        "virtual_env_type": env,
        "enterprise_project_id": ep,
        "__imagetype": "private",
        "__isregistered": "true",
        "__image_source_type": "uds",
        "__image_size": str(size),
        "__data_origin": origin,
        "__originalimagename": "",
        "__lazyloading": "true",
        "__support_kvm": "true",
        "__os_type": os_type or (found.os_type if found else "Linux"),
    }
    if env != "DataImage":
        attrs["__os_version"] = os_version or "Other Linux(64 bit)"
        attrs["__os_bit"] = str(found.os_bit) if found else "64"
        attrs["__platform"] = found.platform if found else "Other"
    if description:
        attrs["__description"] = description
    if max_ram is not None:
        attrs["max_ram"] = str(max_ram)
    return attrs


def iso_s(ts: float) -> str:
    """Image time format: UTC ISO-8601 to the second with Z."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Image:
    id: str
    seq: int
    created: float
    attrs: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    job_id: str | None = None
    data_image: bool = False
    activation_seconds: float = 0.0
    modified: float = 0.0
    deleted_at: float | None = None
    delete_seconds: float = 0.0
    job_region: str | None = None  # where its job runs when not in the image's region (cross-region copy)
    backup_type: str | None = None  # a full-ECS image: "CBR" or "CSBS", the backup it was made from

    @property
    def owner(self) -> str:
        return str(self.attrs.get("owner", ""))

    @property
    def public(self) -> bool:
        return self.attrs.get("visibility") == "public" or self.attrs.get("__imagetype") in ("gold", "market")

    @property
    def whole(self) -> bool:
        """A full-ECS image (`__whole_image`)."""
        return str(self.attrs.get("__whole_image", "")).lower() == "true"

    @property
    def iso(self) -> bool:
        return self.attrs.get("virtual_env_type") == "IsoImage" or self.attrs.get("disk_format") == "iso"

    @property
    def encrypted(self) -> bool:
        return bool(self.attrs.get("__system__cmkid"))

    def active_at(self, job: Job | None) -> float | None:
        if job is None:
            return self.created
        end = job.end
        return None if end is None else end + self.activation_seconds

    def status(self, job: Job | None, now: float) -> str | None:
        """Wire status at `now`, or None when the image no longer exists."""
        if self.deleted_at is not None:
            return "deleted" if now < self.deleted_at + self.delete_seconds else None
        if job is None:
            return "active"
        job_status = job.status(now)
        if job_status == "FAIL":
            return None
        if job_status == "INIT":
            return "queued"
        active_at = self.active_at(job)
        return "active" if active_at is not None and now >= active_at else "saving"

    def render(self, status: str, job: Job | None) -> dict[str, Any]:
        body = dict(self.attrs)
        active_at = self.active_at(job)
        stamps = [self.created, self.modified]
        if status == "active" and active_at is not None:
            stamps.append(active_at)
            body["active_at"] = iso_s(active_at)
        if self.deleted_at is not None:
            stamps.append(self.deleted_at)
        body.update(
            {
                "id": self.id,
                "status": status,
                "tags": [f"{k}.{v}" for k, v in self.tags.items()],
                "created_at": iso_s(self.created),
                "updated_at": iso_s(max(stamps)),
                "self": f"/v2/images/{self.id}",
                "file": f"/v2/images/{self.id}/file",
                "schema": "/v2/schemas/image",
            }
        )
        return body
