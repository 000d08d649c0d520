"""A golden-image pipeline in one stack: a builder ECS (pulumi-huaweicloud), a private image of it
(PrivateImage, ``instance_id=builder.id``) and an app ECS launched from that image
(``image_id=golden.image_id``). Pulumi orders the three through those outputs.

IMS images only a stopped ECS, so the builder is created with ``power_action="OFF"``. The IMS provider
reads the same ``huaweicloud:region`` / ``accessKey`` / ``secretKey`` settings as pulumi-huaweicloud.
Config (namespace ``ims-composed``): ``subnetId`` and ``baseImageId`` (required), ``flavorId``,
``availabilityZone``, ``securityGroupIds`` (JSON list).
"""

import pulumi
import pulumi_huaweicloud as huaweicloud

from ims_provider import PrivateImage

config = pulumi.Config()
subnet_id = config.require("subnetId")
base_image_id = config.require("baseImageId")
flavor_id = config.get("flavorId") or "s6.small.1"
availability_zone = config.get("availabilityZone")
security_group_ids: list[str] | None = config.get_object("securityGroupIds")

builder = huaweicloud.ecs.Instance(
    "builder",
    name="golden-builder",
    image_id=base_image_id,
    flavor_id=flavor_id,
    availability_zone=availability_zone,
    security_group_ids=security_group_ids,
    networks=[huaweicloud.ecs.InstanceNetworkArgs(uuid=subnet_id)],
    system_disk_type="SSD",
    system_disk_size=40,
    power_action="OFF",
    tags={"role": "image-builder"},
)

golden = PrivateImage(
    "golden",
    name="golden-app",
    description="Golden image baked from the builder ECS",
    instance_id=builder.id,
    image_tags={"pipeline": "golden", "role": "app"},
    min_ram=1024,
)

app = huaweicloud.ecs.Instance(
    "app",
    name="app-from-golden",
    image_id=golden.image_id,
    flavor_id=flavor_id,
    availability_zone=availability_zone,
    security_group_ids=security_group_ids,
    networks=[huaweicloud.ecs.InstanceNetworkArgs(uuid=subnet_id)],
    system_disk_type="SSD",
    system_disk_size=40,
    tags={"role": "app", "image": "golden-app"},
)

pulumi.export("builder_id", builder.id)
pulumi.export("image_id", golden.image_id)
pulumi.export("app_id", app.id)
pulumi.export("app_image_id", app.image_id)
