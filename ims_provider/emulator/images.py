"""Private images and how they look on the wire (ListImages / GlanceShowImage / UpdateImage).

An image's status is derived from its job and the clock: queued while the job initialises, saving while it
runs, active once it succeeds (plus `activation_seconds`), gone when it fails; a deleted image shows as
`deleted` for `delete_seconds` and then disappears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ims_provider.emulator.jobs import Job

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
