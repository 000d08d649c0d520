"""The emulator's state and the helpers every API action shares: accounts, regions, who may see which image,
quotas, jobs; plus the admin operations that seed state (moto's backend, with no HTTP in sight).

One re-entrant lock guards the whole state, so concurrent clients see each request applied atomically.
Job, image and member states are computed from the clock when read; nothing runs in the background.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ims_provider.emulator.accounts import (
    DEFAULT_ACCOUNT,
    REGION_RE,
    Account,
    Accounts,
    Caller,
    default_account,
    member_account,
    parse_account,
)
from ims_provider.emulator.clock import EmulatorClock
from ims_provider.emulator.errors import ImsError, bad_request
from ims_provider.emulator.faults import Fault, FaultRegistry
from ims_provider.emulator.images import Image
from ims_provider.emulator.jobs import Job
from ims_provider.emulator.planted import parse_planted
from ims_provider.emulator.regions import Region, Resources, parse_vault
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

FIXTURE_KEYS = {
    "servers",
    "volumes",
    "objects",
    "quotas",
    "settings",
    "description",
    "accounts",
    "vaults",
    "images",
}
PLACEMENT_KEYS = ("region", "account")

Entry = tuple[Image, str, Job | None]


def not_found(image_id: str) -> ImsError:
    return ImsError(404, "IMG.0027", f"The image {image_id} does not exist.")


def _region_names(identity: Identity, regions: Sequence[str] | None) -> tuple[str, ...]:
    names = tuple(regions) if regions else (identity.region,)
    if len(set(names)) != len(names):
        raise ValueError("a region is listed twice")
    for name in names:
        if not isinstance(name, str) or not REGION_RE.match(name):
            raise ValueError(f"{name!r} is not a region id (like cn-north-4)")
    return names


class BackendCore:
    """Every region and account the emulator serves, with their resources, images, jobs and members."""

    def __init__(
        self,
        identity: Identity | None = None,
        settings: Settings | None = None,
        clock: EmulatorClock | None = None,
        fixtures: Sequence[Mapping[str, Any]] = (),
        *,
        regions: Sequence[str] | None = None,
        accounts: Sequence[Mapping[str, Any] | Account] | None = None,
    ) -> None:
        identity = identity or Identity()
        self.region_names = _region_names(identity, regions)
        self.home = self.region_names[0]
        self.identity = replace(identity, region=self.home)
        extra = (
            [member_account()]
            if accounts is None
            else [parse_account(a, self.region_names) for a in accounts]
        )
        self._initial_accounts = [default_account(self.identity, self.home), *extra]
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
        self.accounts = Accounts(self.region_names, self._initial_accounts)
        self.regions: dict[str, Region] = {name: Region(name) for name in self.region_names}
        self._seq = 0

    # ------------------------------------------------------------------ the home region, default account

    @property
    def default_project(self) -> str:
        return self.identity.project_id

    @property
    def servers(self) -> dict[str, Server]:
        return self.regions[self.home].of(self.default_project).servers

    @property
    def volumes(self) -> dict[str, Volume]:
        return self.regions[self.home].of(self.default_project).volumes

    @property
    def objects(self) -> dict[str, ObsObject]:
        return self.regions[self.home].of(self.default_project).objects

    @property
    def images(self) -> dict[str, Image]:
        return self.regions[self.home].images

    @property
    def jobs(self) -> dict[str, Job]:
        return self.regions[self.home].jobs

    def caller(self, region: str | None = None, account: str = DEFAULT_ACCOUNT) -> Caller:
        """The identity of `account` acting in `region` (default: the home region)."""
        name = region or self.home
        if name not in self.regions:
            raise KeyError(f"region {name}")
        return Caller(self.accounts.named(account), name)

    # ------------------------------------------------------------------ admin: seeding

    def reset(self) -> None:
        """Back to the start-up state: accounts, seeded resources, initial settings and clock mode, no faults
        or log."""
        with self._lock:
            self._clear()
            self.faults.clear()
            self.log.clear()
            if self.clock.mode != self._initial_clock_mode:
                self.clock.set_mode(self._initial_clock_mode)
            for data in self._fixtures:
                self.load_fixtures(data)

    def load_fixtures(self, data: Mapping[str, Any]) -> None:
        """Add the accounts, servers, volumes, objects, vaults, images, quotas, settings of one document."""
        if not isinstance(data, Mapping):
            raise ValueError("a fixtures document must be a JSON object")
        unknown = sorted(set(data) - FIXTURE_KEYS)
        if unknown:
            raise ValueError(f"unknown fixtures key {unknown[0]!r}")
        for key in ("servers", "volumes", "objects", "accounts", "vaults", "images"):
            if not isinstance(data.get(key, []), list):
                raise ValueError(f"fixtures {key} must be a list")
        with self._lock:
            for spec in data.get("accounts", []):
                self.add_account(spec)
            for spec in data.get("servers", []):
                self.add_server(spec)
            for spec in data.get("volumes", []):
                self.add_volume(spec)
            for spec in data.get("objects", []):
                self.add_object(spec)
            for spec in data.get("vaults", []):
                self.add_vault(spec)
            for spec in data.get("images", []):
                self.add_image(spec)
            quotas = data.get("quotas", {})
            if not isinstance(quotas, Mapping) or set(quotas) - {"images", "members"}:
                raise ValueError('quotas must be {"images"?: N, "members"?: N}')
            settings = data.get("settings", {})
            if not isinstance(settings, Mapping):
                raise ValueError("fixtures settings must be an object")
            changes = dict(settings)
            if "images" in quotas:
                changes["image_quota"] = quotas["images"]
            if "members" in quotas:
                changes["member_quota"] = quotas["members"]
            if changes:
                self.update_settings(changes)
                self._initial_settings = self.settings

    def _placement(self, spec: Mapping[str, Any]) -> tuple[Region, str, dict[str, Any]]:
        """Where an admin spec puts a resource: `region` (default home) and `account` (default the default
        account); returns the region, the account's project there and the spec without those keys."""
        if not isinstance(spec, Mapping):
            raise ValueError("the spec must be a JSON object")
        region_name = spec.get("region", self.home)
        if region_name not in self.regions:
            raise ValueError(f"region {region_name!r} is not served (regions: {', '.join(self.regions)})")
        account_name = spec.get("account", DEFAULT_ACCOUNT)
        if not isinstance(account_name, str):
            raise ValueError("account must be an account name")
        try:
            account = self.accounts.named(account_name)
        except KeyError:
            raise ValueError(f"account {account_name!r} does not exist") from None
        rest = {k: v for k, v in spec.items() if k not in PLACEMENT_KEYS}
        return self.regions[region_name], account.project_in(region_name), rest

    def add_account(self, spec: Mapping[str, Any] | Account) -> dict[str, Any]:
        account = parse_account(spec, self.region_names)
        with self._lock:
            return self.accounts.add(account).describe(self.region_names)

    def add_agency(self, account_name: str, agency: str) -> dict[str, Any]:
        """Give an account one more IAM agency (cross-region copies name one)."""
        if not isinstance(agency, str) or not agency:
            raise ValueError("an agency name must be a non-empty string")
        with self._lock:
            account = self.accounts.named(account_name)
            if agency not in account.agencies:
                account = replace(account, agencies=(*account.agencies, agency))
                self.accounts.replace(account)
            return account.describe(self.region_names)

    def add_server(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        region, project_id, rest = self._placement(spec)
        server, volumes = parse_server(rest)
        with self._lock:
            res = region.of(project_id)
            if server.id in res.servers:
                raise ValueError(f"server {server.id} already exists")
            for volume in volumes:
                if volume.id in res.volumes:
                    raise ValueError(f"volume {volume.id} already exists")
            res.servers[server.id] = server
            for volume in volumes:
                res.volumes[volume.id] = volume
            return self._server_dict(res, server)

    def update_server(self, server_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Change a server's status (e.g. start it to provoke IMG.0008)."""
        region, project_id, rest = self._placement(spec)
        with self._lock:
            res = region.of(project_id)
            server = res.servers.get(server_id)
            if server is None:
                raise KeyError(server_id)
            if set(rest) - {"status"}:
                raise ValueError("only status can be changed")
            server.status = parse_server({"id": server_id, "status": rest.get("status")})[0].status
            return self._server_dict(res, server)

    @staticmethod
    def _server_dict(res: Resources, server: Server) -> dict[str, Any]:
        body = server.to_dict()
        body["volumes"] = [
            res.volumes[v].to_dict() for v in [server.system_volume_id, *server.data_volume_ids] if v
        ]
        return body

    def add_volume(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        region, project_id, rest = self._placement(spec)
        volume = parse_volume(rest)
        with self._lock:
            res = region.of(project_id)
            if volume.id in res.volumes:
                raise ValueError(f"volume {volume.id} already exists")
            if volume.server_id is not None:
                server = res.servers.get(volume.server_id)
                if server is None:
                    raise ValueError(f"server {volume.server_id} does not exist")
                server.data_volume_ids.append(volume.id)
            res.volumes[volume.id] = volume
            return volume.to_dict()

    def add_object(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        region, project_id, rest = self._placement(spec)
        obj = parse_object(rest)
        with self._lock:
            region.of(project_id).objects[obj.url] = obj
            return obj.to_dict()

    def add_vault(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """A CBR vault of an account in a region (`kind` replication, the default, or backup)."""
        region, project_id, rest = self._placement(spec)
        vault = parse_vault(rest, str(uuid.uuid4()))
        with self._lock:
            region.of(project_id).vaults[vault.id] = vault
            return vault.to_dict()

    def add_image(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Plant an active image the API cannot make (planted.py; the README lists the fields)."""
        region, project_id, rest = self._placement(spec)
        planted = parse_planted(rest, project_id)
        with self._lock:
            if planted.id in region.images:
                raise ValueError(f"image {planted.id} already exists")
            now = self.clock.now()
            self._seq += 1
            image = Image(
                id=planted.id,
                seq=self._seq,
                created=now,
                attrs=planted.attrs,
                tags=dict(planted.tags),
                data_image=planted.data_image,
                modified=now,
                backup_type=planted.backup_type,
            )
            region.images[image.id] = image
            return {**image.render("active", None), "region": region.name}

    def update_settings(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(changes, Mapping):
            raise ValueError("settings must be a JSON object")
        with self._lock:
            self.settings = self.settings.updated(changes)
            return self.settings.to_dict()

    def state(self, region: str | None = None) -> dict[str, Any]:
        """Everything at once (or one region's share), for debugging and for assertions in tests."""
        if region is not None and region not in self.regions:
            raise KeyError(f"region {region}")
        with self._lock:
            now = self.clock.now()
            chosen = [self.regions[region]] if region else list(self.regions.values())
            state: dict[str, Any] = {
                "regions": list(self.regions),
                "home_region": self.home,
                "accounts": self.accounts.describe(),
                "images": [],
                "jobs": [],
                "members": [],
                "servers": [],
                "volumes": [],
                "objects": [],
                "vaults": [],
                "settings": self.settings.to_dict(),
                "clock": self.clock.describe(),
            }
            for reg in chosen:
                where = {"region": reg.name}
                for image, status, job in self._live(reg, now):
                    state["images"].append({**image.render(status, job), "job_id": image.job_id, **where})
                for job in reg.jobs.values():
                    state["jobs"].append({**job.render(now), "project_id": job.project_id, **where})
                state["members"] += [{**m.render(), **where} for m in reg.members.all()]
                for project_id, res in reg.resources.items():
                    placed = {**where, "project_id": project_id}
                    state["servers"] += [
                        {**self._server_dict(res, s), **placed} for s in res.servers.values()
                    ]
                    state["volumes"] += [{**v.to_dict(), **placed} for v in res.volumes.values()]
                    state["objects"] += [{**o.to_dict(), **placed} for o in res.objects.values()]
                    state["vaults"] += [{**v.to_dict(), **placed} for v in res.vaults.values()]
            return state

    # ------------------------------------------------------------------ images and who sees them

    def _job_of(self, region: Region, image: Image) -> Job | None:
        if image.job_id is None:
            return None
        return self.regions[image.job_region or region.name].jobs.get(image.job_id)

    def _live(self, region: Region, now: float) -> list[Entry]:
        """The region's images that exist at `now` with their status, newest first; forgets the ones that
        are gone (and settles member changes whose jobs have ended)."""
        region.members.settle(now)
        alive = []
        for image in list(region.images.values()):
            job = self._job_of(region, image)
            status = image.status(job, now)
            if status is None:
                del region.images[image.id]
                region.members.forget_image(image.id)
            else:
                alive.append((image, status, job))
        alive.sort(key=lambda entry: entry[0].seq, reverse=True)
        return alive

    def _relation(self, caller: Caller, region: Region, image: Image) -> str | None:
        """How the caller relates to an image of its region: owner, member, public, outsider, or None (it
        cannot see the image). An image whose owner is no project of any account can only have been planted
        white-box (tests fake other tenants' images that way); every caller sees it ("outsider")."""
        if image.owner == caller.project_id:
            return "owner"
        if image.public:
            return "public"
        if region.members.get(image.id, caller.project_id) is not None:
            return "member"
        if self.accounts.owner_of(image.owner) is None:
            return "outsider"
        return None

    def _view(self, caller: Caller, region: Region, entry: Entry, relation: str) -> dict[str, Any]:
        """The image as this caller sees it: an image with members is `shared` to its owner too (OTC
        querying_images: "The __imagetype of images you share with other tenants or those other tenants share
        with you and you have accepted is shared"); a member also sees `visibility: shared`."""
        image, status, job = entry
        body = image.render(status, job)
        if relation == "owner" and region.members.of_image(image.id):
            body["__imagetype"] = "shared"
        elif relation == "member":
            member = region.members.get(image.id, caller.project_id)
            body["visibility"] = "shared"
            body["__imagetype"] = "shared"
            body["member_status"] = member.status if member else "pending"
        return body

    def _visible(self, caller: Caller, image_id: str, now: float) -> tuple[Region, Entry, str]:
        """An image of the caller's region that the caller can see, or 404 IMG.0027."""
        region = self.regions[caller.region]
        for entry in self._live(region, now):
            if entry[0].id == image_id:
                relation = self._relation(caller, region, entry[0])
                if relation is None:
                    break
                return region, entry, relation
        raise not_found(image_id)

    def _count_images(self, region: Region, project_id: str, now: float) -> int:
        """Private images a project holds in a region; images of running jobs count."""
        return sum(1 for image, _, _ in self._live(region, now) if image.owner == project_id)

    def _check_quota(self, region: Region, project_id: str, now: float, adding: int) -> None:
        if self._count_images(region, project_id, now) + adding > self.settings.image_quota:
            raise bad_request("IMG.0015", "The number of private images has reached the maximum allowed.")

    def _new_image(
        self,
        region: Region,
        attrs: dict[str, Any],
        now: float,
        job: Job,
        job_region: str,
        *,
        tags: Mapping[str, str] | None = None,
        data_image: bool = False,
    ) -> Image:
        """A new image of `region`, made by `job` (which runs in `job_region`)."""
        self._seq += 1
        image = Image(
            id=str(uuid.uuid4()),
            seq=self._seq,
            created=now,
            attrs=attrs,
            tags=dict(tags or {}),
            job_id=job.job_id,
            data_image=data_image,
            activation_seconds=float(self.settings.activation_seconds),
            modified=now,
            job_region=None if job_region == region.name else job_region,
        )
        region.images[image.id] = image
        return image

    # ------------------------------------------------------------------ jobs

    def _new_job(
        self, caller: Caller, job_type: str, now: float, fault: Fault | None, *, duration: float | None = None
    ) -> Job:
        """A job of the caller's project in the caller's region, shaped by an armed job fault if any."""
        job = Job(
            job_id=uuid.uuid4().hex,
            job_type=job_type,
            begin=now,
            duration=float(self.settings.job_seconds if duration is None else duration),
            profile=self.settings.progress_profile,
            failure=fault.job_failure() if fault is not None and fault.kind == "job_fail" else None,
            hang=fault is not None and fault.kind == "job_hang",
            project_id=caller.project_id,
            account=caller.account.name,
        )
        self.regions[caller.region].jobs[job.job_id] = job
        return job

    def get_job(self, caller: Caller, job_id: str) -> dict[str, Any]:
        """ShowJob / ShowJobProgress: a job of the caller's project in this region, else 404 IMG.0086."""
        with self._lock:
            job = self.regions[caller.region].jobs.get(job_id)
            if job is None or job.project_id != caller.project_id:
                raise ImsError(404, "IMG.0086", f"The job {job_id} does not exist.")
            return job.render(self.clock.now())

    # ------------------------------------------------------------------ IAM

    def keystone_list_projects(self, caller: Caller, name: str | None) -> dict[str, Any]:
        """GET /v3/projects?name=<region>: the caller's default project of that name (one per region)."""
        account = caller.account
        found = []
        for region in self.region_names:
            if name not in (None, region):
                continue
            project_id = account.project_in(region)
            found.append(
                {
                    "id": project_id,
                    "name": region,
                    "domain_id": account.domain_id,
                    "enabled": True,
                    "is_domain": False,
                    "parent_id": account.domain_id,
                    "description": "",
                    "links": {"self": f"/v3/projects/{project_id}"},
                }
            )
        return {"projects": found, "links": {"self": "/v3/projects", "previous": None, "next": None}}
