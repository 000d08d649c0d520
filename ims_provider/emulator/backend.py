"""All emulator state and every IMS rule, with no HTTP in sight (moto's backend/response split).

One re-entrant lock guards the whole state, so concurrent clients see each request applied atomically.
Job and image states are computed from the clock when read; nothing runs in the background.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ims_provider.emulator import osversions, validation
from ims_provider.emulator.busy import check_vm_free
from ims_provider.emulator.clock import EmulatorClock
from ims_provider.emulator.errors import ImsError, bad_request
from ims_provider.emulator.faults import Fault, FaultRegistry
from ims_provider.emulator.images import RESERVED, Image
from ims_provider.emulator.jobs import Job, SubJob
from ims_provider.emulator.reqlog import RequestLog
from ims_provider.emulator.resources import (
    ObsObject,
    Server,
    Volume,
    parse_object,
    parse_server,
    parse_volume,
)
from ims_provider.emulator.settings import Identity, Settings
from ims_provider.emulator.validation import CreatePlan, DataItem, ImageFields, Tags

GIB = 1024**3
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
JOB_TYPES = {
    "ecs": ("imsCreateImageByInstance", "imsCopyVolumeToImageJob"),
    "data": ("imsVolumesToSysDataImagesJob", "imsCopyVolumeToImageJob"),
    "obs": ("imsImportImageJob", "imsImportDataImageJob"),
    "volume": ("imsVolumeCreateImageJob", ""),
}
ATTRIBUTE_FILTERS = (
    "visibility",
    "virtual_env_type",
    "disk_format",
    "container_format",
    "__os_type",
    "__platform",
    "__os_version",
    "__os_bit",
    "__isregistered",
)

JobFaultSource = Callable[[], Fault | None]


def _not_found(image_id: str) -> ImsError:
    return ImsError(404, "IMG.0027", f"The image {image_id} does not exist.")


class Backend:
    """The emulated account: servers, volumes, OBS objects, images, jobs, faults and the request log."""

    def __init__(
        self,
        identity: Identity | None = None,
        settings: Settings | None = None,
        clock: EmulatorClock | None = None,
        fixtures: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.identity = identity or Identity()
        self._initial_settings = settings or Settings()
        self.clock = clock or EmulatorClock()
        self._initial_clock_mode = self.clock.mode
        self.faults = FaultRegistry()
        self.log = RequestLog()
        self._fixtures = list(fixtures)
        self._lock = threading.RLock()
        self._clear()
        for data in self._fixtures:
            self.load_fixtures(data)

    def _clear(self) -> None:
        self.settings = self._initial_settings
        self.servers: dict[str, Server] = {}
        self.volumes: dict[str, Volume] = {}
        self.objects: dict[str, ObsObject] = {}
        self.images: dict[str, Image] = {}
        self.jobs: dict[str, Job] = {}
        self._seq = 0

    # ------------------------------------------------------------------ admin

    def reset(self) -> None:
        """Back to the start-up state: seeded resources, initial settings and clock mode, no faults or log."""
        with self._lock:
            self._clear()
            self.faults.clear()
            self.log.clear()
            if self.clock.mode != self._initial_clock_mode:
                self.clock.set_mode(self._initial_clock_mode)
            for data in self._fixtures:
                self.load_fixtures(data)

    def load_fixtures(self, data: Mapping[str, Any]) -> None:
        """Add the servers, volumes, objects, quotas and settings of one fixtures document."""
        if not isinstance(data, Mapping):
            raise ValueError("a fixtures document must be a JSON object")
        unknown = sorted(set(data) - {"servers", "volumes", "objects", "quotas", "settings", "description"})
        if unknown:
            raise ValueError(f"unknown fixtures key {unknown[0]!r}")
        for key in ("servers", "volumes", "objects"):
            if not isinstance(data.get(key, []), list):
                raise ValueError(f"fixtures {key} must be a list")
        with self._lock:
            for spec in data.get("servers", []):
                self.add_server(spec)
            for spec in data.get("volumes", []):
                self.add_volume(spec)
            for spec in data.get("objects", []):
                self.add_object(spec)
            quotas = data.get("quotas", {})
            if not isinstance(quotas, Mapping) or set(quotas) - {"images"}:
                raise ValueError('quotas must be {"images": N}')
            settings = data.get("settings", {})
            if not isinstance(settings, Mapping):
                raise ValueError("fixtures settings must be an object")
            changes = dict(settings)
            if "images" in quotas:
                changes["image_quota"] = quotas["images"]
            if changes:
                self.update_settings(changes)
                self._initial_settings = self.settings

    def add_server(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        server, volumes = parse_server(spec)
        with self._lock:
            if server.id in self.servers:
                raise ValueError(f"server {server.id} already exists")
            for volume in volumes:
                if volume.id in self.volumes:
                    raise ValueError(f"volume {volume.id} already exists")
            self.servers[server.id] = server
            for volume in volumes:
                self.volumes[volume.id] = volume
            return self._server_dict(server)

    def update_server(self, server_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Change a server's status (e.g. start it to provoke IMG.0008)."""
        with self._lock:
            server = self.servers.get(server_id)
            if server is None:
                raise KeyError(server_id)
            if set(spec) - {"status"}:
                raise ValueError("only status can be changed")
            server.status = parse_server({"id": server_id, "status": spec.get("status")})[0].status
            return self._server_dict(server)

    def _server_dict(self, server: Server) -> dict[str, Any]:
        body = server.to_dict()
        body["volumes"] = [
            self.volumes[v].to_dict() for v in [server.system_volume_id, *server.data_volume_ids] if v
        ]
        return body

    def add_volume(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        volume = parse_volume(spec)
        with self._lock:
            if volume.id in self.volumes:
                raise ValueError(f"volume {volume.id} already exists")
            if volume.server_id is not None:
                server = self.servers.get(volume.server_id)
                if server is None:
                    raise ValueError(f"server {volume.server_id} does not exist")
                server.data_volume_ids.append(volume.id)
            self.volumes[volume.id] = volume
            return volume.to_dict()

    def add_object(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        obj = parse_object(spec)
        with self._lock:
            self.objects[obj.url] = obj
            return obj.to_dict()

    def update_settings(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(changes, Mapping):
            raise ValueError("settings must be a JSON object")
        with self._lock:
            self.settings = self.settings.updated(changes)
            return self.settings.to_dict()

    def state(self) -> dict[str, Any]:
        """Everything at once, for debugging and for assertions in tests."""
        with self._lock:
            now = self.clock.now()
            images = []
            for image, status, job in self._live(now):
                images.append({**image.render(status, job), "job_id": image.job_id})
            return {
                "images": images,
                "jobs": [job.render(now) for job in self.jobs.values()],
                "servers": [self._server_dict(s) for s in self.servers.values()],
                "volumes": [v.to_dict() for v in self.volumes.values()],
                "objects": [o.to_dict() for o in self.objects.values()],
                "settings": self.settings.to_dict(),
                "clock": self.clock.describe(),
            }

    # ------------------------------------------------------------------ create

    def create_image(self, body: object, take_fault: JobFaultSource | None = None) -> str:
        """POST /v2/cloudimages/action: validate, check resources, a busy VM and quota, start the job."""
        plan = validation.validate_create(body)
        with self._lock:
            now = self.clock.now()
            if plan.kind == "ecs":
                images = self._plan_ecs(plan)
            elif plan.kind == "data":
                images = self._plan_data(plan)
            elif plan.kind == "obs":
                images = self._plan_obs(plan)
            else:
                images = self._plan_volume(plan)
            vm_id = self._vm_of(plan)
            check_vm_free(vm_id, self.jobs.values(), now)
            live = sum(1 for _ in self._live(now))
            if live + len(images) > self.settings.image_quota:
                raise bad_request("IMG.0015", "The number of private images has reached the maximum allowed.")
            fault = take_fault() if take_fault is not None else None
            return self._start_job(plan, images, now, fault, vm_id)

    def _vm_of(self, plan: CreatePlan) -> str | None:
        """The ECS whose disks a (planned, so valid) request reads: None for OBS and detached volumes."""
        if plan.kind == "ecs":
            return plan.instance_id
        if plan.kind == "data":
            return self.volumes[plan.data[0].volume_id or ""].server_id
        if plan.kind == "volume":
            return self.volumes[plan.volume_id or ""].server_id
        return None

    def _start_job(
        self,
        plan: CreatePlan,
        images: list[tuple[dict[str, Any], Tags]],
        now: float,
        fault: Fault | None,
        vm_id: str | None,
    ) -> str:
        job_type, sub_type = JOB_TYPES[plan.kind]
        job = Job(
            job_id=uuid.uuid4().hex,
            job_type=job_type,
            begin=now,
            duration=float(self.settings.job_seconds),
            profile=self.settings.progress_profile,
            failure=fault.job_failure() if fault is not None and fault.kind == "job_fail" else None,
            hang=fault is not None and fault.kind == "job_hang",
            data_image_report=self.settings.data_image_report if plan.kind == "ecs" else "sub_jobs",
            vm_id=vm_id,
            whole_ecs=plan.kind == "ecs",
        )
        for index, (attrs, tags) in enumerate(images):
            self._seq += 1
            image = Image(
                id=str(uuid.uuid4()),
                seq=self._seq,
                created=now,
                attrs=attrs,
                tags=dict(tags),
                job_id=job.job_id,
                data_image=attrs["virtual_env_type"] == "DataImage",
                activation_seconds=float(self.settings.activation_seconds),
                modified=now,
            )
            self.images[image.id] = image
            if index == 0 and plan.kind != "data":
                job.image_id, job.image_name = image.id, attrs["name"]
            else:
                job.sub_jobs.append(SubJob(uuid.uuid4().hex, sub_type, image.id, attrs["name"]))
        self.jobs[job.job_id] = job
        return job.job_id

    def _attrs(
        self,
        fields: ImageFields,
        *,
        ep: str,
        min_disk: int,
        env: str,
        origin: str,
        os_version: str | None,
        os_type: str | None = None,
        disk_format: str = "zvhd2",
    ) -> dict[str, Any]:
        found = osversions.lookup(os_version) if os_version else None
        size = min_disk * GIB // 8
        attrs: dict[str, Any] = {
            "name": fields.name,
            "visibility": "private",
            "protected": False,
            "owner": self.identity.project_id,
            "min_disk": min_disk,
            "min_ram": fields.min_ram or 0,
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
        if fields.description:
            attrs["__description"] = fields.description
        if fields.max_ram is not None:
            attrs["max_ram"] = str(fields.max_ram)
        return attrs

    def _server(self, instance_id: str) -> Server:
        server = self.servers.get(instance_id)
        if server is None:
            raise bad_request("IMG.0005", f"The ECS {instance_id} does not exist.")
        return server

    def _data_volume(self, item: DataItem, server: Server | None) -> Volume:
        volume = self.volumes.get(item.volume_id or "")
        if volume is None:
            raise bad_request("IMG.0120", f"The data disk {item.volume_id} does not exist.")
        if volume.system or volume.server_id is None:
            raise bad_request("IMG.0120", f"The disk {volume.id} is not a data disk attached to an ECS.")
        if server is not None and volume.server_id != server.id:
            raise bad_request(
                "IMG.0120", f"The data disk {volume.id} is not attached to the ECS {server.id}."
            )
        return volume

    def _data_images(self, plan: CreatePlan, server: Server | None) -> list[tuple[dict[str, Any], Tags]]:
        images = []
        for item in plan.data:
            volume = self._data_volume(item, server)
            owner = self.servers[volume.server_id or ""]
            system_volume = self.volumes.get(owner.system_volume_id or "")
            system_os = system_volume.os_version if system_volume else None
            found = osversions.lookup(system_os) if system_os else None
            attrs = self._attrs(
                item.fields,
                ep=plan.enterprise_project_id,
                min_disk=volume.size,
                env="DataImage",
                origin=f"volume,{volume.id}",
                os_version=None,
                os_type=found.os_type if found else "Linux",
            )
            images.append((attrs, item.fields.tags))
        return images

    def _plan_ecs(self, plan: CreatePlan) -> list[tuple[dict[str, Any], Tags]]:
        server = self._server(plan.instance_id or "")
        if server.status != "SHUTOFF":
            raise bad_request("IMG.0008", f"The ECS {server.id} is not stopped (status {server.status}).")
        system_volume = self.volumes.get(server.system_volume_id or "")
        if system_volume is None:
            raise bad_request("IMG.0119", f"The ECS {server.id} has no system disk.")
        assert plan.system is not None
        attrs = self._attrs(
            plan.system,
            ep=plan.enterprise_project_id,
            min_disk=system_volume.size,
            env="FusionCompute",
            origin=f"instance,{server.id}",
            os_version=system_volume.os_version,
        )
        return [(attrs, plan.system.tags), *self._data_images(plan, server)]

    def _plan_data(self, plan: CreatePlan) -> list[tuple[dict[str, Any], Tags]]:
        owners = set()
        for item in plan.data:
            owners.add(self._data_volume(item, None).server_id)
        if len(owners) > 1:
            raise bad_request("IMG.0140", "The data disks are attached to different ECSs.")
        return self._data_images(plan, None)

    def _object(self, url: str, quick: bool) -> ObsObject:
        obj = self.objects.get(url)
        if obj is None:
            raise bad_request("IMG.0057", f"The image file {url} does not exist in OBS.")
        if obj.storage_class != "STANDARD":
            raise bad_request(
                "IMG.0057", f"The OBS object {url} is {obj.storage_class}; it must be Standard."
            )
        if quick and obj.format not in ("raw", "zvhd2"):
            raise bad_request("IMG.0057", f"Quick import needs a RAW or ZVHD2 file, not {obj.format}.")
        return obj

    def _plan_obs(self, plan: CreatePlan) -> list[tuple[dict[str, Any], Tags]]:
        assert plan.system is not None and plan.min_disk is not None
        obj = self._object(plan.image_url or "", plan.is_quick_import)
        iso = obj.format == "iso" or plan.image_type == "IsoImage"
        if iso and plan.os_version is None:
            raise bad_request("IMG.0166", "os_version is required for an ISO file.")
        if plan.min_disk < obj.size_gb:
            raise bad_request(
                "IMG.0055", f"min_disk is smaller than the image file's disk ({obj.size_gb} GB)."
            )
        env = "IsoImage" if iso else "Ironic" if plan.image_type in ("BMS", "Ironic") else "FusionCompute"
        attrs = self._attrs(
            plan.system,
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
            data_obj = self._object(item.image_url or "", item.is_quick_import)
            assert item.min_disk is not None
            if item.min_disk < data_obj.size_gb:
                raise bad_request("IMG.0055", f"min_disk of {data_obj.url} is smaller than its disk.")
            data_attrs = self._attrs(
                item.fields,
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

    def _plan_volume(self, plan: CreatePlan) -> list[tuple[dict[str, Any], Tags]]:
        assert plan.system is not None
        volume = self.volumes.get(plan.volume_id or "")
        if volume is None:
            raise bad_request("IMG.0120", f"The data disk {plan.volume_id} does not exist.")
        if volume.system:
            raise bad_request("IMG.0120", f"The disk {volume.id} is a system disk; use instance_id instead.")
        attrs = self._attrs(
            plan.system,
            ep=plan.enterprise_project_id,
            min_disk=volume.size,
            env="Ironic" if plan.image_type in ("BMS", "Ironic") else "FusionCompute",
            origin=f"volume,{volume.id}",
            os_version=volume.os_version or plan.os_version,
        )
        return [(attrs, plan.system.tags)]

    # ------------------------------------------------------------------ jobs

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise ImsError(404, "IMG.0086", f"The job {job_id} does not exist.")
            return job.render(self.clock.now())

    # ------------------------------------------------------------------ images

    def _live(self, now: float) -> list[tuple[Image, str, Job | None]]:
        """Images that exist at `now` with their status, newest first; forgets the ones that are gone."""
        alive = []
        for image in list(self.images.values()):
            job = self.jobs.get(image.job_id) if image.job_id else None
            status = image.status(job, now)
            if status is None:
                del self.images[image.id]
            else:
                alive.append((image, status, job))
        alive.sort(key=lambda entry: entry[0].seq, reverse=True)
        return alive

    def _find(self, image_id: str, now: float) -> tuple[Image, str, Job | None]:
        for entry in self._live(now):
            if entry[0].id == image_id:
                return entry
        raise _not_found(image_id)

    def list_images(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """GET /v2/cloudimages with the filters IMS documents; unknown filters are ignored."""
        limit = query.get("limit")
        if limit is not None and (not validation.DIGITS_RE.fullmatch(limit) or not 1 <= int(limit) <= 1000):
            raise bad_request("IMG.0001", "limit must be an integer between 1 and 1000.")
        if query.get("sort_dir", "desc") not in ("asc", "desc"):
            raise bad_request("IMG.0001", "sort_dir must be asc or desc.")
        with self._lock:
            entries = self._live(self.clock.now())
            if query.get("sort_dir") == "asc":
                entries.reverse()
            rendered = [image.render(status, job) for image, status, job in entries]
        checks: dict[str, str] = {k: v for k, v in query.items() if k in ("id", "name", "status", "owner")}
        checks.update({k: v for k, v in query.items() if k in ATTRIBUTE_FILTERS})
        if query.get("__imagetype", "private") != "private":
            return []
        ep = query.get("enterprise_project_id")
        if ep is not None and ep != "all_granted_eps":
            checks["enterprise_project_id"] = ep
        result = [body for body in rendered if all(str(body.get(k)) == v for k, v in checks.items())]
        marker = query.get("marker")
        if marker is not None:
            ids = [body["id"] for body in result]
            if marker not in ids:
                raise bad_request("IMG.0001", f"The marker {marker} does not match any image.")
            result = result[ids.index(marker) + 1 :]
        return result[: int(limit)] if limit is not None else result

    def get_image(self, image_id: str) -> dict[str, Any]:
        with self._lock:
            image, status, job = self._find(image_id, self.clock.now())
            return image.render(status, job)

    def update_image(self, image_id: str, body: object) -> dict[str, Any]:
        """PATCH /v2/cloudimages/{id}: all operations apply, or none does."""
        with self._lock:
            now = self.clock.now()
            image, status, job = self._find(image_id, now)
            if status == "deleted":
                raise _not_found(image_id)
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
            return image.render(status, job)

    def list_tags(self, image_id: str) -> list[dict[str, str]]:
        with self._lock:
            image, _, _ = self._find(image_id, self.clock.now())
            return [{"key": k, "value": v} for k, v in image.tags.items()]

    def tags_action(self, image_id: str, body: object) -> None:
        """POST .../tags/action: create upserts (max 10 per image), delete ignores missing keys."""
        action, pairs = validation.validate_tags_action(body)
        with self._lock:
            now = self.clock.now()
            image, status, _ = self._find(image_id, now)
            if status == "deleted":
                raise _not_found(image_id)
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

    def delete_image(self, image_id: str, body: object) -> None:
        """DELETE /v2/images/{id}: refused while the image is being created (IMG.0090)."""
        if body is not None:
            if not isinstance(body, dict) or set(body) - {"delete_backup"}:
                raise bad_request("IMG.0001", 'The delete body may only be {"delete_backup": bool}.')
            if not isinstance(body.get("delete_backup", False), bool):
                raise bad_request("IMG.0001", "delete_backup must be a boolean.")
        with self._lock:
            now = self.clock.now()
            image, status, _ = self._find(image_id, now)
            if status == "deleted":
                raise _not_found(image_id)
            if status in ("queued", "saving"):
                raise bad_request("IMG.0090", f"The image {image_id} is being created and cannot be deleted.")
            image.deleted_at = now
            image.delete_seconds = float(self.settings.delete_seconds)
            if image.delete_seconds <= 0:
                del self.images[image_id]

    # ------------------------------------------------------------------ IAM

    def projects(self, name: str | None) -> dict[str, Any]:
        """GET /v3/projects?name=<region>: the one project of the emulated account."""
        ident = self.identity
        project = {
            "id": ident.project_id,
            "name": ident.region,
            "domain_id": ident.domain_id,
            "enabled": True,
            "is_domain": False,
            "parent_id": ident.domain_id,
            "description": "",
            "links": {"self": f"/v3/projects/{ident.project_id}"},
        }
        found = [project] if name in (None, ident.region) else []
        return {"projects": found, "links": {"self": "/v3/projects", "previous": None, "next": None}}
