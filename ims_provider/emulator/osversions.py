"""The emulator's region OS list, as ListOsVersions (GET /v1/cloudimages/os_version) serves it.

`os_version` values in create requests are checked against this list (IMG.0056), so it is the one
place to extend when a test needs another OS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OsVersion:
    os_version: str
    platform: str
    os_type: str
    os_bit: int
    arm: bool = False


OS_VERSIONS: tuple[OsVersion, ...] = (
    OsVersion("CentOS 7.0 64bit", "CentOS", "Linux", 64),
    OsVersion("CentOS 7.9 64bit", "CentOS", "Linux", 64, arm=True),
    OsVersion("CentOS 8.0 64bit", "CentOS", "Linux", 64),
    OsVersion("Ubuntu 20.04 server 64bit", "Ubuntu", "Linux", 64, arm=True),
    OsVersion("Ubuntu 22.04 server 64bit", "Ubuntu", "Linux", 64, arm=True),
    OsVersion("Ubuntu 24.04 server 64bit", "Ubuntu", "Linux", 64, arm=True),
    OsVersion("EulerOS 2.9 64bit", "EulerOS", "Linux", 64, arm=True),
    OsVersion("Huawei Cloud EulerOS 2.0 64bit", "Huawei Cloud EulerOS", "Linux", 64, arm=True),
    OsVersion("openEuler 20.03 64bit", "openEuler", "Linux", 64, arm=True),
    OsVersion("openEuler 22.03 64bit", "openEuler", "Linux", 64, arm=True),
    OsVersion("Debian GNU/Linux 11.0.0 64bit", "Debian", "Linux", 64),
    OsVersion("Debian GNU/Linux 12.0.0 64bit", "Debian", "Linux", 64, arm=True),
    OsVersion("Windows Server 2019 Standard 64bit", "Windows", "Windows", 64),
    OsVersion("Windows Server 2022 Standard 64bit", "Windows", "Windows", 64),
    OsVersion("Other Linux(64 bit)", "Other", "Linux", 64),
)

_BY_NAME = {v.os_version: v for v in OS_VERSIONS}


def lookup(os_version: str) -> OsVersion | None:
    """The entry for an exact `os_version` string, or None when the region does not offer it."""
    return _BY_NAME.get(os_version)


def list_response(tag: str | None = None) -> list[dict[str, Any]]:
    """ListOsVersions body: entries grouped by platform; `tag=arm` keeps only Arm-capable versions."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for v in OS_VERSIONS:
        if tag == "arm" and not v.arm:
            continue
        groups.setdefault(v.platform, []).append(
            {
                "platform": v.platform,
                "os_version_key": v.os_version,
                "os_version": v.os_version,
                "os_bit": v.os_bit,
                "os_type": v.os_type,
            }
        )
    return [{"platform": p, "version_list": items} for p, items in groups.items()]
