"""Copying images: within a region (`POST /v1/cloudimages/{id}/copy`, job `imsCopyImageInRegionJob`) and to
another region (`POST /v1/cloudimages/{id}/cross_region_copy`, job `imsCrossRegionCopyImageJob`).

Rules from ims-api-more.md §1, §2 and §10 and OTC's user guide (replicating images, replicating a shared
image); where a source gives the rule but not its code, the code is inferred and the README says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ims_provider.emulator import validation
from ims_provider.emulator.accounts import Caller
from ims_provider.emulator.core import BackendCore, Entry
from ims_provider.emulator.errors import bad_request
from ims_provider.emulator.faults import Fault
from ims_provider.emulator.images import GIB, RESERVED, Image
from ims_provider.emulator.jobs import Job
from ims_provider.emulator.regions import Region
from ims_provider.emulator.validation import CUSTOM_ATTR_RE, MUTABLE_FIXED

IN_REGION_JOB = "imsCopyImageInRegionJob"
CROSS_REGION_JOB = "imsCrossRegionCopyImageJob"
MAX_CROSS_REGION_COPIES = 5  # "at most 5 images are copied at once" (HW ims_03_0628)
MAX_COPY_BYTES = 128 * GIB  # cross-region copies and copies of shared images (HW ims_03_0628; OTC user guide)
IN_REGION_FIELDS = frozenset({"name", "description", "cmk_id", "enterprise_project_id"})
CROSS_REGION_FIELDS = frozenset({"name", "description", "region", "project_name", "agency_name", "vault_id"})
# What a copy takes from its source (which attributes IMS copies is not published: inferred). The rest is the
# new image's own: name, description, owner, enterprise project, key, tags (none), custom attributes (none;
# the ``copy_marks`` setting serves the other reading: the source's tags and custom attributes).
INHERITED = frozenset(
    {
        "min_disk", "min_ram", "max_ram", "disk_format", "container_format", "size", "virtual_size",
        "checksum", "virtual_env_type", "__isregistered", "__image_source_type", "__image_size",
        "__data_origin", "__lazyloading", "__os_type", "__os_version", "__os_bit", "__platform",
        "__root_origin", "__is_config_init", "__os_feature_list", "hw_firmware_type",
        "hw_vif_multiqueue_enabled", "__whole_image",
    }
)  # fmt: skip

JobFaultSource = Callable[[], Fault | None]


@dataclass(frozen=True)
class CopyRequest:
    name: str
    description: str | None
    cmk_id: str | None = None
    enterprise_project_id: str = "0"
    region: str = ""
    project_name: str = ""
    agency_name: str = ""
    vault_id: str | None = None


def _required_text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad_request("IMG.0001", f"The parameter {key} is required and must be a string.")
    return value


def parse_copy_body(body: object) -> CopyRequest:
    """CopyImageInRegionRequestBody: `{name, description?, cmk_id?, enterprise_project_id?}`."""
    obj = validation.request_object(body, IN_REGION_FIELDS)
    cmk_id = obj.get("cmk_id")
    if cmk_id is not None and (not isinstance(cmk_id, str) or not cmk_id.strip() or len(cmk_id) > 255):
        raise bad_request("IMG.0095", "The KMS key ID is invalid.")
    return CopyRequest(
        name=validation.check_name(obj.get("name")),
        description=validation.check_description(obj.get("description")),
        cmk_id=cmk_id or None,
        enterprise_project_id=validation.check_enterprise_project_id(obj.get("enterprise_project_id")),
    )


def parse_cross_region_body(body: object) -> CopyRequest:
    """CopyImageCrossRegionRequestBody:
    `{name, description?, region, project_name, agency_name, vault_id?}`."""
    obj = validation.request_object(body, CROSS_REGION_FIELDS)
    name = validation.check_name(obj.get("name"))
    description = validation.check_description(obj.get("description"))
    vault_id = obj.get("vault_id")
    if vault_id is not None and (not isinstance(vault_id, str) or not vault_id.strip()):
        raise bad_request("IMG.0001", "The parameter vault_id must be a non-empty string.")
    return CopyRequest(
        name=name,
        description=description,
        region=_required_text(obj, "region"),
        project_name=_required_text(obj, "project_name"),
        agency_name=_required_text(obj, "agency_name"),
        vault_id=vault_id,
    )


def copied_attrs(source: Image, owner: str, request: CopyRequest, ep: str) -> dict[str, Any]:
    """A copy's attributes: the source's disk, OS and origin facts, the request's name and description."""
    attrs = {k: v for k, v in source.attrs.items() if k in INHERITED or k.startswith("__support_")}
    attrs.update(
        {
            "name": request.name,
            "owner": owner,
            "visibility": "private",
            "protected": False,
            "__imagetype": "private",
            "enterprise_project_id": ep,
            "__originalimagename": source.id,
        }
    )
    if request.description:
        attrs["__description"] = request.description
    if source.whole:
        attrs["__backup_id"] = str(uuid.uuid4())  # the backups are copied with a full-ECS image
    return attrs


def custom_attributes(image: Image) -> dict[str, Any]:
    """The attributes a user added with PATCH (lower-case keys IMS does not define)."""
    return {
        k: v
        for k, v in image.attrs.items()
        if k not in RESERVED and k not in MUTABLE_FIXED and CUSTOM_ATTR_RE.match(k)
    }


def _image_bytes(image: Image) -> int:
    try:
        return int(image.attrs.get("__image_size") or 0)
    except ValueError:
        return 0


class CopyActions(BackendCore):
    def copy_image_in_region(
        self, caller: Caller, image_id: str, body: object, take_fault: JobFaultSource | None = None
    ) -> str:
        """POST /v1/cloudimages/{image_id}/copy: the caller's own image, or an accepted shared one."""
        request = parse_copy_body(body)
        with self._lock:
            now = self.clock.now()
            region, entry, relation = self._visible(caller, image_id, now)
            image = entry[0]
            if relation == "member":
                self._check_shared_source(caller, region, image)
            elif relation != "owner":
                raise bad_request("IMG.0106", f"The image owner is another tenant ({image.owner}).")
            self._check_copyable(entry)
            if image.whole:
                raise bad_request("IMG.0130", "The full-ECS image cannot be exported or replicated.")
            self._check_quota(region, caller.project_id, now, 1)
            job = self._new_job(caller, IN_REGION_JOB, now, take_fault() if take_fault else None)
            attrs = copied_attrs(image, caller.project_id, request, request.enterprise_project_id)
            if request.cmk_id:
                attrs["__system__cmkid"] = request.cmk_id
            copy = self._new_copy(region, image, attrs, now, job, caller.region)
            job.image_id, job.image_name = copy.id, request.name
            return job.job_id

    def _new_copy(
        self, region: Region, source: Image, attrs: dict[str, Any], now: float, job: Job, job_region: str
    ) -> Image:
        """The copy in ``region``; with the ``copy_marks`` setting "source's", it also takes the source's
        tags and custom attributes (IMS does not say whether it does)."""
        tags: dict[str, str] = {}
        if self.settings.copy_marks == "source's":
            attrs = {**custom_attributes(source), **attrs}
            tags = dict(source.tags)
        return self._new_image(region, attrs, now, job, job_region, tags=tags, data_image=source.data_image)

    def _check_shared_source(self, caller: Caller, region: Region, image: Image) -> None:
        """A member copies a shared image only once it has accepted it, and never an encrypted one (OTC
        error codes IMG.0196, IMG.0197; OTC user guide "Replicating a Shared Image": at most 128 GB)."""
        member = region.members.get(image.id, caller.project_id)
        if member is None or member.status != "accepted":
            raise bad_request(
                "IMG.0196", "The image cannot be replicated because it is not accepted by the recipient."
            )
        if image.encrypted:
            raise bad_request(
                "IMG.0197", "Failed to replicate the shared image because it is encrypted using KMS."
            )
        if _image_bytes(image) > MAX_COPY_BYTES:
            raise bad_request("IMG.0059", "The size of the image file exceeds the maximum allowed (128 GB).")

    @staticmethod
    def _check_copyable(entry: Entry) -> None:
        image, status, _ = entry
        if status != "active":
            raise bad_request("IMG.0046", f"The image {image.id} is unavailable ({status}).")
        if image.iso:
            raise bad_request("IMG.0167", "This operation cannot be performed for ISO images.")

    def copy_image_cross_region(
        self, caller: Caller, image_id: str, body: object, take_fault: JobFaultSource | None = None
    ) -> str:
        """POST /v1/cloudimages/{image_id}/cross_region_copy: the job runs here, the copy appears in the
        target region in the caller's project there (its ID is the job's `entities.image_id`)."""
        request = parse_cross_region_body(body)
        with self._lock:
            now = self.clock.now()
            _, entry, relation = self._visible(caller, image_id, now)
            image = entry[0]
            if relation != "owner":
                raise bad_request("IMG.0106", f"The image owner is another tenant ({image.owner}).")
            self._check_copyable(entry)
            target = self._target_region(caller, request)
            if image.encrypted:
                raise bad_request("IMG.0105", "The operation is not supported: encrypted images cannot be "
                                  "replicated to another region.")  # fmt: skip
            if _image_bytes(image) > MAX_COPY_BYTES:
                raise bad_request(
                    "IMG.0059", "The size of the image file exceeds the maximum allowed (128 GB)."
                )
            target_project = caller.account.project_in(target.name)
            self._check_vault(target, target_project, request.vault_id, required=image.whole)
            running = [
                job
                for reg in self.regions.values()
                for job in reg.jobs.values()
                if job.job_type == CROSS_REGION_JOB
                and job.account == caller.account.name
                and job.running(now)
            ]
            if len(running) >= MAX_CROSS_REGION_COPIES:
                raise bad_request("IMG.0060", "The number of tasks exceeds the flow control limit.")
            self._check_quota(target, target_project, now, 1)
            job = self._new_job(caller, CROSS_REGION_JOB, now, take_fault() if take_fault else None)
            attrs = copied_attrs(image, target_project, request, "0")
            copy = self._new_copy(target, image, attrs, now, job, caller.region)
            copy.backup_type = image.backup_type
            job.image_id, job.image_name = copy.id, request.name
            return job.job_id

    def _target_region(self, caller: Caller, request: CopyRequest) -> Region:
        """The destination: another region this emulator serves, named with the caller's project there."""
        if request.region == caller.region:
            raise bad_request("IMG.0001", "The destination region must differ from the source region.")
        target = self.regions.get(request.region)
        if target is None:
            raise bad_request("IMG.0001", f"The region {request.region} does not exist.")
        if request.project_name != target.name:  # an account's one project in a region is named after it
            raise bad_request("IMG.0145", "The project name is incorrect.")
        if request.agency_name not in caller.account.agencies:
            raise bad_request("IMG.0179", "The token of the source image agency is invalid.")
        return target

    @staticmethod
    def _check_vault(target: Region, project_id: str, vault_id: str | None, *, required: bool) -> None:
        """A full-ECS image needs a CBR replication vault of the caller in the target region."""
        if vault_id is None:
            if required:
                raise bad_request("IMG.0001", "vault_id is required to replicate a full-ECS image.")
            return
        vault = target.of(project_id).vaults.get(vault_id)
        if vault is None:
            raise bad_request("IMG.0184", "Failed to obtain the vault.")
        if vault.kind != "replication":
            raise bad_request("IMG.0189", "The target CBR vault does not support image replication.")
