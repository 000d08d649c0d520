"""The ECS, EVS and OBS facts IMS checks before it accepts a create request.

Only what IMS looks at is modelled: a server's state and disks, a volume's size, attachment and OS, an
object's storage class and format. Specs come from the admin API or a fixtures file; malformed specs raise
ValueError so the admin API can answer 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ims_provider.emulator import osversions

SERVER_STATES = ("SHUTOFF", "ACTIVE", "BUILD", "REBOOT", "ERROR")
STORAGE_CLASSES = ("STANDARD", "WARM", "COLD", "DEEP_ARCHIVE")
FORMATS = {
    "qcow2": "qcow2",
    "vhd": "vhd",
    "vhdx": "vhdx",
    "zvhd": "zvhd",
    "zvhd2": "zvhd2",
    "raw": "raw",
    "img": "raw",
    "iso": "iso",
    "vmdk": "vmdk",
    "qed": "qed",
}


@dataclass
class Volume:
    id: str
    size: int
    os_version: str | None = None
    server_id: str | None = None
    system: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Server:
    id: str
    name: str
    status: str
    system_volume_id: str | None
    data_volume_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ObsObject:
    bucket: str
    key: str
    size_gb: int
    storage_class: str
    format: str

    @property
    def url(self) -> str:
        return f"{self.bucket}:{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "url": self.url}


def _str(spec: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = spec.get(key, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _size(spec: Mapping[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65536:
        raise ValueError(f"{key} must be an integer number of GB between 1 and 65536")
    return value


def _os_version(spec: Mapping[str, Any]) -> str | None:
    value = _str(spec, "os_version")
    if value is not None and osversions.lookup(value) is None:
        raise ValueError(f"os_version {value!r} is not in the emulator's OS list")
    return value


def _check_keys(spec: Mapping[str, Any], allowed: set[str], what: str) -> None:
    if not isinstance(spec, Mapping):
        raise ValueError(f"a {what} spec must be a JSON object")
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"unknown {what} field {unknown[0]!r}")


def parse_volume(spec: Mapping[str, Any]) -> Volume:
    """`{id?, size, os_version?, server_id?}`: a data volume, optionally holding an OS or attached."""
    _check_keys(spec, {"id", "size", "os_version", "server_id"}, "volume")
    return Volume(
        id=_str(spec, "id") or str(uuid.uuid4()),
        size=_size(spec, "size", 100),
        os_version=_os_version(spec),
        server_id=_str(spec, "server_id"),
    )


def parse_server(spec: Mapping[str, Any]) -> tuple[Server, list[Volume]]:
    """`{id?, name?, status, system_volume?: {id?, size, os_version}, data_volumes?: [{id?, size}]}`."""
    _check_keys(spec, {"id", "name", "status", "system_volume", "data_volumes"}, "server")
    server_id = _str(spec, "id") or str(uuid.uuid4())
    status = spec.get("status", "SHUTOFF")
    if status not in SERVER_STATES:
        raise ValueError(f"status must be one of {', '.join(SERVER_STATES)}")
    volumes: list[Volume] = []
    system_spec = spec.get("system_volume", {"size": 40, "os_version": "CentOS 7.9 64bit"})
    system_id: str | None = None
    if system_spec is not None:
        _check_keys(system_spec, {"id", "size", "os_version"}, "system volume")
        system = Volume(
            id=_str(system_spec, "id") or str(uuid.uuid4()),
            size=_size(system_spec, "size", 40),
            os_version=_os_version(system_spec) or "CentOS 7.9 64bit",
            server_id=server_id,
            system=True,
        )
        volumes.append(system)
        system_id = system.id
    data_specs = spec.get("data_volumes", [])
    if not isinstance(data_specs, list):
        raise ValueError("data_volumes must be a list")
    for data_spec in data_specs:
        _check_keys(data_spec, {"id", "size"}, "data volume")
        volumes.append(
            Volume(id=_str(data_spec, "id") or str(uuid.uuid4()), size=_size(data_spec, "size", 100))
        )
        volumes[-1].server_id = server_id
    server = Server(
        id=server_id,
        name=_str(spec, "name") or f"ecs-{server_id[:8]}",
        status=status,
        system_volume_id=system_id,
        data_volume_ids=[v.id for v in volumes if not v.system],
    )
    return server, volumes


def parse_object(spec: Mapping[str, Any]) -> ObsObject:
    """`{bucket, key, size_gb?, storage_class?, format?}`; format defaults from the key's extension."""
    _check_keys(spec, {"bucket", "key", "size_gb", "storage_class", "format"}, "object")
    bucket, key = _str(spec, "bucket"), _str(spec, "key")
    if bucket is None or key is None or ":" in bucket:
        raise ValueError("bucket and key are required (and a bucket name has no ':')")
    storage_class = spec.get("storage_class", "STANDARD")
    if storage_class not in STORAGE_CLASSES:
        raise ValueError(f"storage_class must be one of {', '.join(STORAGE_CLASSES)}")
    extension = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    fmt = _str(spec, "format") or FORMATS.get(extension, "qcow2")
    if fmt not in FORMATS.values():
        raise ValueError(f"format must be one of {', '.join(sorted(set(FORMATS.values())))}")
    return ObsObject(
        bucket=bucket, key=key, size_gb=_size(spec, "size_gb", 20), storage_class=storage_class, format=fmt
    )
