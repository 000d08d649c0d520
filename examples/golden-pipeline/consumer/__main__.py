"""The consumer of a golden image, run with the consumer project's credentials: accept the image the
producer stack shared, look up the newest golden image of the release, and launch an app ECS from it.

Config (namespace ``ims-golden-consumer``): ``producerStack`` (the producer's stack, e.g.
``acme/ims-golden-pipeline/prod``), ``subnetId``; optionally ``flavorId``.
"""

import pulumi
import pulumi_huaweicloud as huaweicloud

from ims_provider import ImageShareAccepter, get_image_output

config = pulumi.Config()
producer = pulumi.StackReference(config.require("producerStack"))
region = producer.require_output("copy_region")

accepted = ImageShareAccepter(
    "golden-accepted",
    image_id=producer.require_output("copy_image_id"),
    region=region,
)

# The newest accepted golden image of the producer's release; owner= waits for the accept and pins the
# producer's project, so an image someone else shares with the same tags is never picked.
golden = get_image_output(
    most_recent=True,
    visibility="shared",
    owner=accepted.owner,
    tags=producer.require_output("release").apply(lambda release: {"pipeline": "golden", "release": release}),
    region=region,
)

app = huaweicloud.ecs.Instance(
    "app",
    name="app-from-golden",
    region=region,
    image_id=golden.id,
    flavor_id=config.get("flavorId") or "s6.small.1",
    networks=[huaweicloud.ecs.InstanceNetworkArgs(uuid=config.require("subnetId"))],
    system_disk_type="SSD",
    system_disk_size=40,
    tags={"role": "app"},
)

pulumi.export("image_id", golden.id)
pulumi.export("image_name", golden.name)
pulumi.export("accepted_status", accepted.status)
pulumi.export("app_id", app.id)
