"""Huawei's official IMS SDK (huaweicloudsdkims) against ims-emulator: list, create, poll, delete.

    pip install '/path/to/ims-provider[emulator]' huaweicloudsdkims
    ims-emulator --port 8123 &
    python docs/official_sdk_against_emulator.py            # or IMS_ENDPOINT=http://127.0.0.1:PORT

The emulator's default account: access key EMULATORACCESSKEY, secret key EMULATORSECRETKEY, project
0605767c6a80d5c72f1dc0193fbee5a2, region cn-north-4. The ECS imaged here, 877a2cda-ba63-4e1e-b95f-e67e48b6129a
("ecs-seed", stopped), is the one in the IMS API page's example requests.
"""

from __future__ import annotations

import os
import sys
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkims.v2 import (
    CreateImageRequest,
    CreateImageRequestBody,
    GlanceDeleteImageRequest,
    ImsClient,
    ListImagesRequest,
    ShowJobProgressRequest,
    TagKeyValue,
)

ENDPOINT = os.environ.get("IMS_ENDPOINT", "http://127.0.0.1:8123")
SEED_ECS = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"

client = (
    ImsClient.new_builder()
    .with_credentials(
        BasicCredentials("EMULATORACCESSKEY", "EMULATORSECRETKEY", "0605767c6a80d5c72f1dc0193fbee5a2")
    )
    .with_endpoints([ENDPOINT])
    .with_http_config(HttpConfig.get_default_config())
    .build()
)

# List: the project's private images.
before = client.list_images(ListImagesRequest(imagetype="private")).images or []
print(f"{len(before)} private image(s) before")

# Create: a system image of the stopped seed ECS; IMS answers with a job.
body = CreateImageRequestBody(
    name="sdk-demo", instance_id=SEED_ECS, image_tags=[TagKeyValue(key="made-by", value="sdk")]
)
job_id = client.create_image(CreateImageRequest(body=body)).job_id
print(f"job {job_id} submitted")

# Poll: ShowJobProgress until the job ends (the emulator's jobs take 5 s by default).
while True:
    job = client.show_job_progress(ShowJobProgressRequest(job_id=job_id))
    percent = job.entities.process_percent if job.entities and job.entities.process_percent else 0
    print(f"  {job.status} {percent:.0%}")
    if job.status in ("SUCCESS", "FAIL"):
        break
    time.sleep(1)
if job.status != "SUCCESS":
    sys.exit(f"job {job_id} failed: {job.error_code} {job.fail_reason}")
image_id = job.entities.image_id
print(f"image {image_id} made")

# Delete: the Glance API is IMS's one single-image delete.
client.glance_delete_image(GlanceDeleteImageRequest(image_id=image_id))
after = client.list_images(ListImagesRequest(imagetype="private")).images or []
print(f"image {image_id} deleted; {len(after)} private image(s) after")
