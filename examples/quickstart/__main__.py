"""Quickstart: a system image of an ECS, tagged, with a minimum RAM, and its ID exported.

The default ECS ID is one that a fresh ims-emulator already holds; set `ims-quickstart:instanceId` (and
optionally `ims-quickstart:imageName`) to image one of your own stopped servers.
"""

import pulumi

from ims_provider import PrivateImage

SEED_ECS_ID = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"  # "ecs-seed" in a fresh ims-emulator (stopped)

config = pulumi.Config()
instance_id = config.get("instanceId") or SEED_ECS_ID

golden = PrivateImage(
    "golden",
    name=config.get("imageName") or "web-golden",
    description="Golden image of the web tier",
    instance_id=instance_id,
    image_tags={"team": "web"},
    min_ram=1024,
)

pulumi.export("image_id", golden.image_id)
pulumi.export("status", golden.status)
pulumi.export("os_version", golden.os_version)
