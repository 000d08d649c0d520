"""A system image from a data disk that holds an operating system (for example the old system disk of a
retired server, attached elsewhere as a data disk, or a restored volume backup).

IMS needs ``os_version`` on this path. The default volume is the detached 40 GB CentOS 7.0 disk of a fresh
ims-emulator. Config (namespace ``ims-volume-to-system-image``): ``volumeId``, ``osVersion``, ``type``
(ECS, BMS, FusionCompute or Ironic).
"""

import pulumi

from ims_provider import PrivateImage

SEED_OS_VOLUME_ID = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"  # detached data volume holding CentOS 7.0

config = pulumi.Config()

restored = PrivateImage(
    "restored",
    name="restored-from-volume",
    description="System image of a data disk that holds an OS",
    volume_id=config.get("volumeId") or SEED_OS_VOLUME_ID,
    os_version=config.get("osVersion") or "CentOS 7.0 64bit",
    type=config.get("type") or "ECS",
    tags=["origin.volume", "os.centos7"],
    min_ram=512,
)

pulumi.export("image_id", restored.image_id)
pulumi.export("os_version", restored.os_version)
pulumi.export("min_disk", restored.min_disk)
pulumi.export("data_origin", restored.data_origin)
