"""A system image of an ECS together with images of its data disks, in one IMS job.

IMS makes the system image from the ECS's system disk and one data-disk image per listed data disk; the
ECS must be stopped. The defaults name the stopped "ecs-seed" server of a fresh ims-emulator and its data
disk. Config (namespace `ims-ecs-system-and-data-images`):

* `instanceId`: the ECS to image.
* `dataVolumeIds`: JSON list of the ECS's data-disk volume IDs to image, in the order you want
  `data_image_ids` (for example `pulumi config set --path 'dataVolumeIds[0]' <id>`).
* `minRam` / `maxRam`: the RAM bounds (MB) a server launched from the image must respect.
"""

import pulumi

from ims_provider import DataImageArgs, PrivateImage, PrivateImageArgs

SEED_ECS_ID = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"  # "ecs-seed" in a fresh ims-emulator (stopped)
SEED_DATA_VOLUME_ID = "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30"  # its 100 GB data disk

config = pulumi.Config()
instance_id = config.get("instanceId") or SEED_ECS_ID
data_volume_ids: list[str] = config.get_object("dataVolumeIds") or [SEED_DATA_VOLUME_ID]
min_ram = config.get_int("minRam") or 1024
max_ram = config.get_int("maxRam") or 8192

server_image = PrivateImage(
    "app-server",
    PrivateImageArgs(
        name="app-server-system",
        description="System disk of the app server",
        instance_id=instance_id,
        tags=["team.app", "tier.backend"],
        min_ram=min_ram,
        max_ram=max_ram,
        data_images=[
            DataImageArgs(
                name=f"app-server-data-{index}",
                volume_id=volume_id,
                description=f"Data disk {index} of the app server",
                tags=["team.app", f"disk.data{index}"],
            )
            for index, volume_id in enumerate(data_volume_ids, start=1)
        ],
        timeouts={"create": "1h30m"},
    ),
)

pulumi.export("image_id", server_image.image_id)
pulumi.export("data_image_ids", server_image.data_image_ids)
pulumi.export("os_version", server_image.os_version)
pulumi.export("min_ram", server_image.min_ram)
pulumi.export("max_ram", server_image.max_ram)
