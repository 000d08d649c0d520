"""Image members (sharing): the member records of one region, the changes jobs make to them, and the
checks of the member API bodies.

IMS changes members in a job (`imsAddImageMembersJob`, `imsUpdateImageMembersJob`, `imsDelImageMembersJob`):
the request is checked at once, the change happens when the job succeeds. A change is recorded with its job
and applied when a read finds the job ended (in the order the jobs ended); a failed job's change is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ims_provider.emulator.errors import bad_request
from ims_provider.emulator.images import iso_s
from ims_provider.emulator.jobs import Job
from ims_provider.emulator.validation import request_object

MEMBER_STATUSES = ("pending", "accepted", "rejected")
ANSWERS = ("accepted", "rejected")  # what a member may set with PUT /v1/cloudimages/members
MEMBER_SCHEMA = "/v2/schemas/member"
MEMBERS_SCHEMA = "/v2/schemas/members"
MAX_MEMBERS = 256  # a system or data disk image (OTC restrictions_on_image_sharing)
MAX_WHOLE_IMAGE_MEMBERS = 10  # a full-ECS image (same page)


@dataclass
class Member:
    image_id: str
    project_id: str
    status: str
    created: float
    updated: float

    def render(self) -> dict[str, Any]:
        """The ImageMember / GlanceImageMembers object (SDK 3.1.219; OTC examples)."""
        return {
            "member_id": self.project_id,
            "member_type": "project",
            "status": self.status,
            "created_at": iso_s(self.created),
            "updated_at": iso_s(self.updated),
            "image_id": self.image_id,
            "schema": MEMBER_SCHEMA,
        }


@dataclass(frozen=True)
class MemberChange:
    seq: int
    job: Job
    image_id: str
    project_id: str
    action: str  # "add" | "update" | "delete"
    status: str | None = None


@dataclass
class MemberBook:
    """The members of every image of one region, plus the changes still waiting for their job."""

    _members: dict[tuple[str, str], Member] = field(default_factory=dict)
    _pending: list[MemberChange] = field(default_factory=list)
    _seq: int = 0

    def record(
        self, job: Job, image_id: str, project_id: str, action: str, status: str | None = None
    ) -> None:
        self._seq += 1
        self._pending.append(MemberChange(self._seq, job, image_id, project_id, action, status))

    def settle(self, now: float) -> None:
        """Apply every change whose job has succeeded by `now` (as of the job's end); drop failed ones."""
        ended: list[MemberChange] = []
        waiting: list[MemberChange] = []
        for change in self._pending:
            (ended if change.job.status(now) in ("SUCCESS", "FAIL") else waiting).append(change)
        if not ended:
            return
        self._pending = waiting
        for change in sorted(ended, key=lambda c: (c.job.end or 0.0, c.seq)):
            if change.job.status(now) == "SUCCESS":
                self._apply(change, change.job.end or now)

    def _apply(self, change: MemberChange, at: float) -> None:
        key = (change.image_id, change.project_id)
        if change.action == "add":
            if key not in self._members:
                self._members[key] = Member(change.image_id, change.project_id, "pending", at, at)
        elif change.action == "update":
            member = self._members.get(key)
            if member is not None and change.status is not None:
                member.status, member.updated = change.status, at
        else:
            self._members.pop(key, None)

    def get(self, image_id: str, project_id: str) -> Member | None:
        return self._members.get((image_id, project_id))

    def of_image(self, image_id: str) -> list[Member]:
        """The image's members, oldest first."""
        found = [m for (image, _), m in self._members.items() if image == image_id]
        return sorted(found, key=lambda m: (m.created, m.project_id))

    def pending_adds(self, image_id: str) -> set[str]:
        return {c.project_id for c in self._pending if c.image_id == image_id and c.action == "add"}

    def forget_image(self, image_id: str) -> None:
        """An image was deleted: its members and the changes waiting for it go with it."""
        self._members = {k: m for k, m in self._members.items() if k[0] != image_id}
        self._pending = [c for c in self._pending if c.image_id != image_id]

    def all(self) -> list[Member]:
        return sorted(self._members.values(), key=lambda m: (m.image_id, m.created, m.project_id))


# ---------------------------------------------------------------- request bodies


def _ids(body: Mapping[str, Any], key: str, *, required: bool) -> list[str]:
    """A list of non-empty strings, duplicates dropped (order kept)."""
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request("IMG.0001", f"The parameter {key} is required.")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise bad_request("IMG.0001", f"The parameter {key} must be a list of IDs.")
    return list(dict.fromkeys(value))


@dataclass(frozen=True)
class MemberRequest:
    """A checked POST or DELETE /v1/cloudimages/members body."""

    images: list[str]
    projects: list[str]


def parse_members_body(body: object) -> MemberRequest:
    """`{images: [...], projects: [...], domains?, organizations?}` (SDK BatchAddMembersRequestBody, used for
    both add and delete). Sharing with domains or organizations is not emulated (see the README)."""
    obj = request_object(body, frozenset({"images", "projects", "domains", "organizations"}))
    images = _ids(obj, "images", required=True)
    projects = _ids(obj, "projects", required=True)
    if not images or not projects:
        raise bad_request("IMG.0001", "images and projects must each name at least one ID.")
    for key in ("domains", "organizations"):
        if _ids(obj, key, required=False):
            raise bad_request("IMG.0105", f"The operation is not supported: sharing with {key} (emulator).")
    return MemberRequest(images=images, projects=projects)


@dataclass(frozen=True)
class MemberAnswer:
    """A checked PUT /v1/cloudimages/members body: a member accepts or rejects images."""

    images: list[str]
    project_id: str
    status: str
    vault_id: str | None


def parse_answer_body(body: object) -> MemberAnswer:
    """`{images: [...], project_id, status: accepted|rejected, vault_id?}` (BatchUpdateMembersRequestBody)."""
    obj = request_object(body, frozenset({"images", "project_id", "status", "vault_id"}))
    images = _ids(obj, "images", required=True)
    if not images:
        raise bad_request("IMG.0001", "images must name at least one image ID.")
    project_id, status, vault_id = obj.get("project_id"), obj.get("status"), obj.get("vault_id")
    if not isinstance(project_id, str) or not project_id:
        raise bad_request("IMG.0001", "The parameter project_id is required.")
    if status not in ANSWERS:
        raise bad_request("IMG.0001", "The parameter status must be accepted or rejected.")
    if vault_id is not None and (not isinstance(vault_id, str) or not vault_id):
        raise bad_request("IMG.0001", "The parameter vault_id must be a non-empty string.")
    return MemberAnswer(images=images, project_id=project_id, status=str(status), vault_id=vault_id)
