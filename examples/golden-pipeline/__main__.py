"""The producer of a golden image: a builder ECS (pulumi-huaweicloud), a private image of it, a copy of that
image in a second region, and the copy shared with the consumer's project there.

The consumer (``consumer/``, a second stack run with the consumer's credentials) accepts the share and
looks the image up. Config (namespace ``ims-golden-pipeline``): ``subnetId`` and ``baseImageId`` (the
builder's network and public base image), ``copyRegion`` (the second region), ``agencyName`` (the IAM agency
IMS copies across regions with), ``consumerProjectId`` (the consumer's project in ``copyRegion``);
optionally ``release`` (a tag value, default ``2026.12``), ``flavorId``.
"""

import pulumi
import pulumi_huaweicloud as huaweicloud

from ims_provider import ImageCopy, ImageShare, PrivateImage

config = pulumi.Config()
copy_region = config.require("copyRegion")
release = config.get("release") or "2026.12"
golden_tags = {"pipeline": "golden", "release": release}

builder = huaweicloud.ecs.Instance(
    "builder",
    name="golden-builder",
    image_id=config.require("baseImageId"),
    flavor_id=config.get("flavorId") or "s6.small.1",
    networks=[huaweicloud.ecs.InstanceNetworkArgs(uuid=config.require("subnetId"))],
    system_disk_type="SSD",
    system_disk_size=40,
    power_action="OFF",  # IMS images a stopped ECS only
    tags={"role": "image-builder"},
)

golden = PrivateImage(
    "golden",
    name=f"golden-{release}",
    description="Golden image baked from the builder ECS",
    instance_id=builder.id,
    image_tags=golden_tags,
    min_ram=1024,
)

# The copy lives in copy_region; its tags are set once it is active (the copy request carries none).
copy = ImageCopy(
    "golden-copy",
    source_image_id=golden.image_id,
    name=f"golden-{release}",
    description=f"Copy of the golden image for {copy_region}",
    target_region=copy_region,
    agency_name=config.require("agencyName"),
    image_tags=golden_tags,
    min_ram=1024,
)

share = ImageShare(
    "golden-share",
    source_image_id=copy.image_id,
    target_project_ids=[config.require("consumerProjectId")],
    region=copy_region,
)

pulumi.export("image_id", golden.image_id)
pulumi.export("copy_image_id", copy.image_id)
pulumi.export("copy_region", copy.region)
pulumi.export("members", share.members)
pulumi.export("release", release)
