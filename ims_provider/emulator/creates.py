"""POST /v2/cloudimages/action: the four create paths, checked against the caller's own ECS, EVS and OBS
resources in the region it calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ims_provider.emulator import osversions, validation
from ims_provider.emulator.accounts import Caller
from ims_provider.emulator.busy import check_vm_free
from ims_provider.emulator.core import BackendCore
from ims_provider.emulator.errors import bad_request
from ims_provider.emulator.faults import Fault
from ims_provider.emulator.images import new_attrs
from ims_provider.emulator.jobs import SubJob
from ims_provider.emulator.regions import Resources
from ims_provider.emulator.resources import ObsObject, Server, Volume
from ims_provider.emulator.validation import CreatePlan, DataItem, ImageFields, Tags

JOB_TYPES = {
    "ecs": ("imsCreateImageByInstance", "imsCopyVolumeToImageJob"),
    "data": ("imsVolumesToSysDataImagesJob", "imsCopyVolumeToImageJob"),
    "obs": ("imsImportImageJob", "imsImportDataImageJob"),
    "volume": ("imsVolumeCreateImageJob", ""),
}

JobFaultSource = Callable[[], Fault | None]
Planned = list[tuple[dict[str, Any], Tags]]


def _attrs(
    fields: ImageFields,
    owner: str,
    *,
    ep: str,
    min_disk: int,
    env: str,
    origin: str,
    os_version: str | None,
    os_type: str | None = None,
    disk_format: str = "zvhd2",
) -> dict[str, Any]:
    return new_attrs(
        name=fields.name,
        owner=owner,
        ep=ep,
        min_disk=min_disk,
        env=env,
        origin=origin,
        os_version=os_version,
        os_type=os_type,
        disk_format=disk_format,
        description=fields.description,
        min_ram=fields.min_ram,
        max_ram=fields.max_ram,
    )


class CreateActions(BackendCore):
    def create_image(self, caller: Caller, body: object, take_fault: JobFaultSource | None = None) -> str:
        """POST /v2/cloudimages/action: validate, check resources, a busy VM and quota, start the job."""
        plan = validation.validate_create(body)
        with self._lock:
            now = self.clock.now()
            region = self.regions[caller.region]
            res = region.of(caller.project_id)
            owner = caller.project_id
            if plan.kind == "ecs":
                images = self._plan_ecs(res, owner, plan)
            elif plan.kind == "data":
                images = self._plan_data(res, owner, plan)
            elif plan.kind == "obs":
                images = self._plan_obs(res, owner, plan)
            else:
                images = self._plan_volume(res, owner, plan)
            vm_id = self._vm_of(res, plan)
            own_jobs = [job for job in region.jobs.values() if job.project_id == caller.project_id]
            check_vm_free(vm_id, own_jobs, now)
            self._check_quota(region, caller.project_id, now, len(images))
            fault = take_fault() if take_fault is not None else None
            job_type, sub_type = JOB_TYPES[plan.kind]
            job = self._new_job(caller, job_type, now, fault)
            job.data_image_report = self.settings.data_image_report if plan.kind == "ecs" else "sub_jobs"
            job.vm_id, job.whole_ecs = vm_id, plan.kind == "ecs"
            for index, (attrs, tags) in enumerate(images):
                data_image = attrs["virtual_env_type"] == "DataImage"
                image = self._new_image(
                    region, attrs, now, job, caller.region, tags=dict(tags), data_image=data_image
                )
                if index == 0 and plan.kind != "data":
                    job.image_id, job.image_name = image.id, attrs["name"]
                else:
                    job.sub_jobs.append(SubJob(uuid.uuid4().hex, sub_type, image.id, attrs["name"]))
            return job.job_id

    @staticmethod
    def _vm_of(res: Resources, plan: CreatePlan) -> str | None:
        """The ECS whose disks a (planned, so valid) request reads: None for OBS and detached volumes."""
        if plan.kind == "ecs":
            return plan.instance_id
        if plan.kind == "data":
            return res.volumes[plan.data[0].volume_id or ""].server_id
        if plan.kind == "volume":
            return res.volumes[plan.volume_id or ""].server_id
        return None

    @staticmethod
    def _server(res: Resources, instance_id: str) -> Server:
        server = res.servers.get(instance_id)
        if server is None:
            raise bad_request("IMG.0005", f"The ECS {instance_id} does not exist.")
        return server

    @staticmethod
    def _data_volume(res: Resources, item: DataItem, server: Server | None) -> Volume:
        volume = res.volumes.get(item.volume_id or "")
        if volume is None:
            raise bad_request("IMG.0120", f"The data disk {item.volume_id} does not exist.")
        if volume.system or volume.server_id is None:
            raise bad_request("IMG.0120", f"The disk {volume.id} is not a data disk attached to an ECS.")
        if server is not None and volume.server_id != server.id:
            raise bad_request(
                "IMG.0120", f"The data disk {volume.id} is not attached to the ECS {server.id}."
            )
        return volume

    def _data_images(self, res: Resources, owner: str, plan: CreatePlan, server: Server | None) -> Planned:
        images = []
        for item in plan.data:
            volume = self._data_volume(res, item, server)
            vm = res.servers[volume.server_id or ""]
            system_volume = res.volumes.get(vm.system_volume_id or "")
            system_os = system_volume.os_version if system_volume else None
            found = osversions.lookup(system_os) if system_os else None
            attrs = _attrs(
                item.fields,
                owner,
                ep=plan.enterprise_project_id,
                min_disk=volume.size,
                env="DataImage",
                origin=f"volume,{volume.id}",
                os_version=None,
                os_type=found.os_type if found else "Linux",
            )
            images.append((attrs, item.fields.tags))
        return images

    def _plan_ecs(self, res: Resources, owner: str, plan: CreatePlan) -> Planned:
        server = self._server(res, plan.instance_id or "")
        if server.status != "SHUTOFF":
            raise bad_request("IMG.0008", f"The ECS {server.id} is not stopped (status {server.status}).")
        system_volume = res.volumes.get(server.system_volume_id or "")
        if system_volume is None:
            raise bad_request("IMG.0119", f"The ECS {server.id} has no system disk.")
        assert plan.system is not None
        attrs = _attrs(
            plan.system,
            owner,
            ep=plan.enterprise_project_id,
            min_disk=system_volume.size,
            env="FusionCompute",
            origin=f"instance,{server.id}",
            os_version=system_volume.os_version,
        )
        return [(attrs, plan.system.tags), *self._data_images(res, owner, plan, server)]

    def _plan_data(self, res: Resources, owner: str, plan: CreatePlan) -> Planned:
        vms = {self._data_volume(res, item, None).server_id for item in plan.data}
        if len(vms) > 1:
            raise bad_request("IMG.0140", "The data disks are attached to different ECSs.")
        return self._data_images(res, owner, plan, None)

    @staticmethod
    def _object(res: Resources, url: str, quick: bool) -> ObsObject:
        obj = res.objects.get(url)
        if obj is None:
            raise bad_request("IMG.0057", f"The image file {url} does not exist in OBS.")
        if obj.storage_class != "STANDARD":
            raise bad_request(
                "IMG.0057", f"The OBS object {url} is {obj.storage_class}; it must be Standard."
            )
        if quick and obj.format not in ("raw", "zvhd2"):
            raise bad_request("IMG.0057", f"Quick import needs a RAW or ZVHD2 file, not {obj.format}.")
        return obj

    def _plan_obs(self, res: Resources, owner: str, plan: CreatePlan) -> Planned:
        assert plan.system is not None and plan.min_disk is not None
        obj = self._object(res, plan.image_url or "", plan.is_quick_import)
        iso = obj.format == "iso" or plan.image_type == "IsoImage"
        if iso and plan.os_version is None:
            raise bad_request("IMG.0166", "os_version is required for an ISO file.")
        if plan.min_disk < obj.size_gb:
            raise bad_request(
                "IMG.0055", f"min_disk is smaller than the image file's disk ({obj.size_gb} GB)."
            )
        env = "IsoImage" if iso else "Ironic" if plan.image_type in ("BMS", "Ironic") else "FusionCompute"
        attrs = _attrs(
            plan.system,
            owner,
            ep=plan.enterprise_project_id,
            min_disk=plan.min_disk,
            env=env,
            origin=f"file,{obj.url}",
            os_version=plan.os_version,
            os_type=plan.os_type,
            disk_format="iso" if iso else "zvhd2",
        )
        attrs["__root_origin"] = "file"
        if plan.is_config_init is not None:
            attrs["__is_config_init"] = str(plan.is_config_init).lower()
        if plan.cmk_id:
            attrs["__system__cmkid"] = plan.cmk_id
        if plan.architecture == "arm":
            attrs["__support_arm"] = "true"
            attrs["hw_firmware_type"] = "uefi"
        if plan.hw_firmware_type:
            attrs["hw_firmware_type"] = plan.hw_firmware_type
        images = [(attrs, plan.system.tags)]
        for item in plan.data:
            data_obj = self._object(res, item.image_url or "", item.is_quick_import)
            assert item.min_disk is not None
            if item.min_disk < data_obj.size_gb:
                raise bad_request("IMG.0055", f"min_disk of {data_obj.url} is smaller than its disk.")
            data_attrs = _attrs(
                item.fields,
                owner,
                ep=plan.enterprise_project_id,
                min_disk=item.min_disk,
                env="DataImage",
                origin=f"file,{data_obj.url}",
                os_version=None,
                os_type=attrs["__os_type"],
            )
            data_attrs["__root_origin"] = "file"
            if plan.cmk_id:
                data_attrs["__system__cmkid"] = plan.cmk_id
            images.append((data_attrs, item.fields.tags))
        return images

    def _plan_volume(self, res: Resources, owner: str, plan: CreatePlan) -> Planned:
        assert plan.system is not None
        volume = res.volumes.get(plan.volume_id or "")
        if volume is None:
            raise bad_request("IMG.0120", f"The data disk {plan.volume_id} does not exist.")
        if volume.system:
            raise bad_request("IMG.0120", f"The disk {volume.id} is a system disk; use instance_id instead.")
        attrs = _attrs(
            plan.system,
            owner,
            ep=plan.enterprise_project_id,
            min_disk=volume.size,
            env="Ironic" if plan.image_type in ("BMS", "Ironic") else "FusionCompute",
            origin=f"volume,{volume.id}",
            os_version=volume.os_version or plan.os_version,
        )
        return [(attrs, plan.system.tags)]
