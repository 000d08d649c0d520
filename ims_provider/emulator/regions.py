"""What one region holds: each project's ECS/EVS/OBS/CBR facts, the images and jobs, the image members.

Regions share nothing but the accounts: an image, a job or a server lives in exactly one region, as in IMS,
where each region is its own endpoint. A cross-region copy's job lives in the source region and its image in
the target region (the image remembers the job's region).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ims_provider.emulator.images import Image
from ims_provider.emulator.jobs import Job
from ims_provider.emulator.members import MemberBook
from ims_provider.emulator.resources import ObsObject, Server, Volume

VAULT_KINDS = ("backup", "replication")


@dataclass
class Vault:
    """A CBR vault: IMS checks it exists in the target region and is a replication vault."""

    id: str
    kind: str = "replication"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_vault(spec: Mapping[str, Any], new_id: str) -> Vault:
    """`{id?, kind?: "replication"|"backup"}`."""
    if not isinstance(spec, Mapping) or set(spec) - {"id", "kind"}:
        raise ValueError('a vault is {"id"?, "kind"?: "replication"|"backup"}')
    vault_id = spec.get("id", new_id)
    if not isinstance(vault_id, str) or not vault_id:
        raise ValueError("a vault id must be a non-empty string")
    kind = spec.get("kind", "replication")
    if kind not in VAULT_KINDS:
        raise ValueError(f"vault kind must be one of {', '.join(VAULT_KINDS)}")
    return Vault(id=vault_id, kind=kind)


@dataclass
class Resources:
    """The facts IMS checks for one project in one region."""

    servers: dict[str, Server] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    objects: dict[str, ObsObject] = field(default_factory=dict)
    vaults: dict[str, Vault] = field(default_factory=dict)


@dataclass
class Region:
    name: str
    resources: dict[str, Resources] = field(default_factory=dict)  # by project id
    images: dict[str, Image] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    members: MemberBook = field(default_factory=MemberBook)

    def of(self, project_id: str) -> Resources:
        """The project's resources here (empty until something is added)."""
        return self.resources.setdefault(project_id, Resources())
