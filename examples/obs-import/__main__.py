"""Four ways to import an image file from OBS, as four PrivateImage resources in one stack.

* ``plain``: a qcow2 file converted into a system image (IMS runs cloud-init / drivers checks).
* ``quick``: a ZVHD2 (or RAW) file imported as-is with ``is_quick_import`` (``os_version`` required).
* ``encrypted``: a system image encrypted with a KMS key (``cmk_id``).
* ``with-data``: a system image plus up to three data-disk images from further files, in one job.

Every file name is a config value whose default a fresh ims-emulator holds (namespace ``ims-obs-import``):
``systemImageUrl``, ``osVersion``, ``quickImportUrl``, ``quickImportOsVersion``, ``encryptedImageUrl``,
``cmkId`` and ``dataFiles`` (a JSON list of ``{"imageUrl": "bucket:object", "minDisk": GB}``).
The emulator accepts any non-empty ``cmkId``; on Huawei Cloud set the ID of one of your KMS keys.
"""

import pulumi

from ims_provider import DataImageArgs, PrivateImage

config = pulumi.Config()
system_image_url = config.get("systemImageUrl") or "ims-image:centos70.qcow2"
os_version = config.get("osVersion") or "CentOS 7.0 64bit"
quick_import_url = config.get("quickImportUrl") or "ims-image:ubuntu2204.zvhd2"
quick_import_os_version = config.get("quickImportOsVersion") or "Ubuntu 22.04 server 64bit"
encrypted_image_url = config.get("encryptedImageUrl") or system_image_url
cmk_id = config.get("cmkId") or "5f0b8a3e-2d1c-4e6f-9a7b-8c9d0e1f2a3b"
data_files: list[dict[str, object]] = config.get_object("dataFiles") or [
    {"imageUrl": "ims-image:data-disk-1.qcow2", "minDisk": 10},
    {"imageUrl": "ims-image:data-disk-2.qcow2", "minDisk": 20},
]

plain = PrivateImage(
    "plain",
    name="obs-plain",
    description="Imported from a qcow2 file in OBS",
    image_url=system_image_url,
    min_disk=40,
    os_version=os_version,
    is_config=True,
    is_config_init=True,
    image_tags={"source": "obs", "import": "plain"},
)

quick = PrivateImage(
    "quick",
    name="obs-quick",
    description="Quick import of a ZVHD2 file (no conversion)",
    image_url=quick_import_url,
    min_disk=40,
    os_version=quick_import_os_version,
    is_quick_import=True,
    image_tags={"source": "obs", "import": "quick"},
)

encrypted = PrivateImage(
    "encrypted",
    name="obs-encrypted",
    description="Imported and encrypted with a KMS key",
    image_url=encrypted_image_url,
    min_disk=40,
    os_version=os_version,
    cmk_id=cmk_id,
    image_tags={"source": "obs", "import": "encrypted"},
)

with_data = PrivateImage(
    "with-data",
    name="obs-with-data",
    description="System disk plus data disks, each from its own file",
    image_url=system_image_url,
    min_disk=40,
    os_version=os_version,
    data_images=[
        DataImageArgs(
            name=f"obs-with-data-disk{index}",
            image_url=str(item["imageUrl"]),
            min_disk=int(str(item["minDisk"])),
        )
        for index, item in enumerate(data_files, start=1)
    ],
    min_ram=2048,
)

pulumi.export("plain_image_id", plain.image_id)
pulumi.export("quick_image_id", quick.image_id)
pulumi.export("encrypted_image_id", encrypted.image_id)
pulumi.export("image_id", with_data.image_id)
pulumi.export("data_image_ids", with_data.data_image_ids)
