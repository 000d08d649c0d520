"""Sharing images with other projects of the same region: add members (owner), accept or reject (member),
remove members (owner), list and show members.

Rules and codes from ims-api-more.md §3 and OTC (error_codes, restrictions_on_image_sharing); the member
records and their jobs are in members.py.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from ims_provider.emulator.accounts import Caller
from ims_provider.emulator.core import BackendCore
from ims_provider.emulator.errors import ImsError, bad_request
from ims_provider.emulator.faults import Fault
from ims_provider.emulator.images import Image
from ims_provider.emulator.jobs import Job
from ims_provider.emulator.members import (
    MAX_WHOLE_IMAGE_MEMBERS,
    MEMBERS_SCHEMA,
    Member,
    parse_answer_body,
    parse_members_body,
)
from ims_provider.emulator.regions import Region
from ims_provider.emulator.validation import DIGITS_RE

ADD_JOB = "imsAddImageMembersJob"
UPDATE_JOB = "imsUpdateImageMembersJob"
DELETE_JOB = "imsDelImageMembersJob"
DEFAULT_MEMBER_LIMIT = 500  # HW ims_03_0661: limit 1-1000, default 500

JobFaultSource = Callable[[], Fault | None]


def encode_marker(member_id: str) -> str:
    """ListImageMembers' marker "must be Base64-encoded" (HW ims_03_0661): the last member ID, encoded."""
    return base64.b64encode(member_id.encode()).decode()


def decode_marker(marker: str) -> str:
    try:
        return base64.b64decode(marker.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("IMG.0001", "The marker must be a Base64-encoded member ID.") from None


def member_not_found(image_id: str, member_id: str) -> ImsError:
    return ImsError(404, "IMG.0114", f"The member {member_id} of the image {image_id} does not exist.")


class SharingActions(BackendCore):
    def _shared_by_caller(self, caller: Caller, image_id: str, now: float) -> tuple[Region, Image, str]:
        """An image of the caller's region the caller may change the members of: its own (else IMG.0106;
        a public image: IMG.0089)."""
        region, (image, status, _), relation = self._visible(caller, image_id, now)
        if image.public:
            raise bad_request("IMG.0089", "The public image cannot be shared.")
        if relation != "owner":
            raise bad_request("IMG.0106", f"The image owner is another tenant ({image.owner}).")
        return region, image, status

    def batch_add_members(
        self, caller: Caller, body: object, take_fault: JobFaultSource | None = None
    ) -> str:
        """POST /v1/cloudimages/members: each project becomes a `pending` member when the job succeeds."""
        request = parse_members_body(body)
        with self._lock:
            now = self.clock.now()
            images = []
            for image_id in request.images:
                _, image, status = self._shared_by_caller(caller, image_id, now)
                if status != "active":
                    raise bad_request("IMG.0046", f"The image {image_id} is unavailable ({status}).")
                if image.encrypted:
                    raise bad_request("IMG.0098", "The encrypted image cannot be shared.")
                if image.whole and image.backup_type != "CBR":
                    raise bad_request("IMG.0135", "The full-ECS image cannot be shared.")
                images.append(image)
            for project_id in request.projects:
                self._check_recipient(caller, project_id)
            region = self.regions[caller.region]
            for image in images:
                members = {m.project_id for m in region.members.of_image(image.id)}
                members |= region.members.pending_adds(image.id) | set(request.projects)
                cap = self.settings.member_quota
                if image.whole:
                    cap = min(cap, MAX_WHOLE_IMAGE_MEMBERS)
                if len(members) > cap:
                    raise bad_request(
                        "IMG.0088", "The number of shared images has reached the maximum allowed."
                    )
            job = self._member_job(caller, ADD_JOB, now, take_fault)
            job.results = [
                {"image_id": image.id, "project_id": project_id, "status": "success"}
                for image in images
                for project_id in request.projects
            ]
            for image in images:
                for project_id in request.projects:
                    region.members.record(job, image.id, project_id, "add")
            return job.job_id

    def _check_recipient(self, caller: Caller, project_id: str) -> None:
        if project_id == caller.project_id:
            raise bad_request("IMG.0076", "You cannot share an image with yourself.")
        found = self.accounts.owner_of(project_id)
        if found is None:
            raise bad_request("IMG.0108", f"The tenant ID {project_id} was not found in the current region.")
        if found[1] != caller.region:
            raise bad_request("IMG.0177", "The source and target tenants reside in different regions.")

    def _member_job(
        self, caller: Caller, job_type: str, now: float, take_fault: JobFaultSource | None
    ) -> Job:
        fault = take_fault() if take_fault is not None else None
        return self._new_job(caller, job_type, now, fault, duration=self.settings.member_job_seconds)

    def batch_update_members(
        self, caller: Caller, body: object, take_fault: JobFaultSource | None = None
    ) -> str:
        """PUT /v1/cloudimages/members: the member project accepts or rejects images shared with it."""
        answer = parse_answer_body(body)
        if answer.project_id != caller.project_id:
            raise ImsError(
                403,
                "IMG.0026",
                f"The project {answer.project_id} is not the caller's project; only a member can accept "
                "or reject an image shared with it.",
            )
        with self._lock:
            now = self.clock.now()
            region = self.regions[caller.region]
            for image_id in answer.images:
                _, (image, _, _), relation = self._visible(caller, image_id, now)
                if relation != "member":
                    raise member_not_found(image_id, caller.project_id)
                if image.whole and answer.status == "accepted":
                    self._check_accept_vault(region, caller, answer.vault_id)
            job = self._member_job(caller, UPDATE_JOB, now, take_fault)
            job.results = [
                {"image_id": image_id, "project_id": caller.project_id, "status": "success"}
                for image_id in answer.images
            ]
            for image_id in answer.images:
                region.members.record(job, image_id, caller.project_id, "update", answer.status)
            return job.job_id

    @staticmethod
    def _check_accept_vault(region: Region, caller: Caller, vault_id: str | None) -> None:
        """Accepting a full-ECS image made from a CBR backup needs a vault (ims-api-more.md §3.2)."""
        if vault_id is None:
            raise bad_request("IMG.0001", "vault_id is required to accept a full-ECS image.")
        if vault_id not in region.of(caller.project_id).vaults:
            raise bad_request("IMG.0184", "Failed to obtain the vault.")

    def batch_delete_members(
        self, caller: Caller, body: object, take_fault: JobFaultSource | None = None
    ) -> str:
        """DELETE /v1/cloudimages/members: the owner stops sharing; removing a non-member changes nothing."""
        request = parse_members_body(body)
        with self._lock:
            now = self.clock.now()
            for image_id in request.images:
                self._shared_by_caller(caller, image_id, now)
            region = self.regions[caller.region]
            job = self._member_job(caller, DELETE_JOB, now, take_fault)
            job.results = []
            for image_id in request.images:
                for project_id in request.projects:
                    region.members.record(job, image_id, project_id, "delete")
            return job.job_id

    def _members_for(self, caller: Caller, image_id: str) -> list[Member]:
        """The members the caller may see: all of them (owner) or its own record (member), else 404."""
        region, (image, _, _), relation = self._visible(caller, image_id, self.clock.now())
        if relation == "owner":
            return region.members.of_image(image.id)
        own = region.members.get(image.id, caller.project_id)
        if relation == "member" and own is not None:
            return [own]
        raise ImsError(404, "IMG.0027", f"The image {image_id} does not exist.")

    def list_image_members(self, caller: Caller, image_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/{project_id}/cloudimages/{image_id}/members: a page of members plus `page_info`."""
        raw_limit = query.get("limit")
        if raw_limit is not None and (not DIGITS_RE.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= 1000):
            raise bad_request("IMG.0001", "limit must be an integer between 1 and 1000.")
        limit = int(raw_limit) if raw_limit is not None else DEFAULT_MEMBER_LIMIT
        marker = query.get("marker")
        with self._lock:
            members = self._members_for(caller, image_id)
        start = 0
        if marker is not None:
            after = decode_marker(marker)
            ids = [m.project_id for m in members]
            if after not in ids:
                raise bad_request("IMG.0001", "The marker does not match any member of the image.")
            start = ids.index(after) + 1
        page = members[start : start + limit]
        page_info: dict[str, Any] = {"current_count": len(page)}
        if page and start + limit < len(members):
            page_info["next_marker"] = encode_marker(page[-1].project_id)
        return {"members": [m.render() for m in page], "schema": MEMBERS_SCHEMA, "page_info": page_info}

    def show_image_member(self, caller: Caller, image_id: str, member_id: str) -> dict[str, Any]:
        """GET /v1/{project_id}/cloudimages/{image_id}/members/{member_id} (and the Glance twin)."""
        with self._lock:
            for member in self._members_for(caller, image_id):
                if member.project_id == member_id:
                    return member.render()
        raise member_not_found(image_id, member_id)

    def glance_list_image_members(self, caller: Caller, image_id: str) -> dict[str, Any]:
        """GET /v2/images/{image_id}/members: `{members, schema}`."""
        with self._lock:
            members = self._members_for(caller, image_id)
        return {"members": [m.render() for m in members], "schema": MEMBERS_SCHEMA}
