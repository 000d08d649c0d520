"""One bad input per rule of the seed (and of the image-attribute rules), with the property it must name."""

from __future__ import annotations

from typing import Any

ECS = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"
VOL = "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30"


def ecs(**extra: Any) -> dict[str, Any]:
    return {"name": "web-golden", "instance_id": ECS, **extra}


def obs(**extra: Any) -> dict[str, Any]:
    return {"name": "imported", "image_url": "ims-image:centos70.qcow2", "min_disk": 40, **extra}


def volume(**extra: Any) -> dict[str, Any]:
    return {"name": "from-disk", "volume_id": ECS, "os_version": "CentOS 7.0 64bit", **extra}


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("ecs name missing", {"instance_id": ECS}, "name"),
    ("obs name missing", {"image_url": "b:o", "min_disk": 40}, "name"),
    ("obs min_disk missing", {"name": "n", "image_url": "b:o"}, "min_disk"),
    ("volume os_version missing", {"name": "n", "volume_id": ECS}, "os_version"),
    ("data item name missing", {"data_images": [{"volume_id": VOL}]}, "data_images[0].name"),
    ("data item volume missing", {"data_images": [{"name": "d"}]}, "data_images[0].volume_id"),
    ("obs item url missing", obs(data_images=[{"min_disk": 10}]), "data_images[0].image_url"),
    ("obs item min_disk missing", obs(data_images=[{"image_url": "b:d"}]), "data_images[0].min_disk"),
    ("name empty", ecs(name=""), "name"),
    ("name too long", ecs(name="a" * 129), "name"),
    ("name leading space", ecs(name=" web"), "name"),
    ("name trailing space", ecs(name="web "), "name"),
    ("name bad char", ecs(name="web/golden"), "name"),
    ("name not a string", ecs(name=12), "name"),
    ("description too long", ecs(description="d" * 1025), "description"),
    ("description carriage return", ecs(description="a\rb"), "description"),
    ("description line feed", ecs(description="a\nb"), "description"),
    ("description angle bracket", ecs(description="<script>"), "description"),
    (
        "item description bracket",
        {"data_images": [{"name": "d", "volume_id": VOL, "description": ">"}]},
        "data_images[0].description",
    ),
    ("min_disk below 40", obs(min_disk=39), "min_disk"),
    ("min_disk above 255", obs(min_disk=256), "min_disk"),
    ("min_disk fractional", obs(min_disk=40.5), "min_disk"),
    ("min_disk text", obs(min_disk="40"), "min_disk"),
    (
        "obs data min_disk 0",
        obs(data_images=[{"image_url": "b:d", "min_disk": 0}]),
        "data_images[0].min_disk",
    ),
    (
        "obs data min_disk 2049",
        obs(data_images=[{"image_url": "b:d", "min_disk": 2049}]),
        "data_images[0].min_disk",
    ),
    (
        "four obs data images",
        obs(data_images=[{"image_url": f"b:d{i}", "min_disk": 10} for i in range(4)]),
        "data_images",
    ),
    ("tags and image_tags", ecs(tags=["a.1"], image_tags={"b": "2"}), "image_tags"),
    (
        "item tags and image_tags",
        {
            "data_images": [
                {"name": "d", "volume_id": VOL, "tags": ["a.1"], "image_tags": [{"key": "b", "value": "2"}]}
            ]
        },
        "data_images[0].image_tags",
    ),
    ("quick import without os_version", obs(is_quick_import=True), "os_version"),
    ("iso without os_version", obs(image_url="bucket:disk.ISO"), "os_version"),
    ("bad type", volume(type="KVM"), "type"),
    ("bad os_type", obs(os_type="Solaris"), "os_type"),
    ("bad enterprise project", ecs(enterprise_project_id="default"), "enterprise_project_id"),
    ("negative min_ram", ecs(min_ram=-1), "min_ram"),
    ("negative max_ram", ecs(max_ram=-1), "max_ram"),
    ("min_ram above max_ram", ecs(min_ram=4096, max_ram=1024), "min_ram"),
    ("eleven tags", ecs(tags=[f"k{i}.v" for i in range(11)]), "tags"),
    ("eleven image_tags", ecs(image_tags={f"k{i}": "v" for i in range(11)}), "image_tags"),
    ("tag key too long", ecs(image_tags={"k" * 37: "v"}), "image_tags[0].key"),
    ("tag value too long", ecs(image_tags={"k": "v" * 44}), "image_tags[0].value"),
    ("old tag key too long", ecs(tags=["k" * 37 + ".v"]), "tags[0]"),
    ("old tag value too long", ecs(tags=["k." + "v" * 44]), "tags[0]"),
    ("duplicate tag keys", ecs(tags=["a.1", "a.2"]), "tags"),
    ("bad architecture", obs(architecture="mips"), "architecture"),
    ("bad firmware", obs(hw_firmware_type="efi"), "hw_firmware_type"),
    ("arm with bios", obs(architecture="arm", hw_firmware_type="bios"), "hw_firmware_type"),
    ("bad is_config", obs(is_config="yes"), "is_config"),
    ("bad image_url", obs(image_url="no-colon"), "image_url"),
    ("os_version on ECS", ecs(os_version="CentOS 7.0 64bit"), "os_version"),
    ("min_disk on volume", volume(min_disk=40), "min_disk"),
    ("name with data images only", {"name": "x", "data_images": [{"name": "d", "volume_id": VOL}]}, "name"),
    ("data images on volume", volume(data_images=[{"name": "d", "volume_id": VOL}]), "data_images"),
    (
        "file item on ECS",
        ecs(data_images=[{"name": "d", "image_url": "b:o", "min_disk": 10}]),
        "data_images[0].image_url",
    ),
    ("empty data images", {"data_images": []}, "data_images"),
    ("bad timeout", ecs(timeouts={"create": "soon"}), "timeouts.create"),
    ("unknown timeout kind", ecs(timeouts={"read": "5m"}), "timeouts.read"),
    ("unknown input", ecs(colour="blue"), "colour"),
    (
        "adopt with a source",
        {"existing_image_id": "img-1", "instance_id": ECS, "name": "n"},
        "existing_image_id",
    ),
    (
        "adopt with data images",
        {"existing_image_id": "img-1", "data_images": [{"name": "d", "volume_id": VOL}]},
        "existing_image_id",
    ),
    ("adopt bad name", {"existing_image_id": "img-1", "name": " x"}, "name"),
    ("adopt bad ram", {"existing_image_id": "img-1", "min_ram": 2048, "max_ram": 1024}, "min_ram"),
    (
        "adopt bad tags",
        {"existing_image_id": "img-1", "tags": ["a.1"], "image_tags": {"b": "2"}},
        "image_tags",
    ),
    ("adopt creation-only input", {"existing_image_id": "img-1", "min_disk": 40}, "min_disk"),
    ("adopt empty id", {"existing_image_id": ""}, "existing_image_id"),
    (
        "adopt enterprise project",
        {"existing_image_id": "img-1", "enterprise_project_id": "0"},
        "enterprise_project_id",
    ),
    (
        "volume listed twice",
        {"data_images": [{"name": "a", "volume_id": VOL}, {"name": "b", "volume_id": VOL}]},
        "data_images[1].volume_id",
    ),
    (
        "file listed twice",
        obs(data_images=[{"image_url": "ims-image:centos70.qcow2", "min_disk": 10}]),
        "data_images[0].image_url",
    ),
    (
        "uuid without hyphens",
        ecs(enterprise_project_id="9f5b8a1c2d3e4f508a6b7c8d9e0f1a2b"),
        "enterprise_project_id",
    ),
    ("tag key character", ecs(image_tags={"team#1": "web"}), "image_tags[0].key"),
    ("tag value character", ecs(image_tags={"team": "web,db"}), "image_tags[0].value"),
    ("name outside the CJK range IMS accepts", ecs(name="web\u9fa6"), "name"),
    ("id with white space", ecs(instance_id=f" {ECS}"), "instance_id"),
    ("id too long", ecs(instance_id="x" * 65), "instance_id"),
    ("max_ram above 1 TiB", ecs(max_ram=1024 * 1024 + 1), "max_ram"),
    (
        "ten tags on a data image",
        {"data_images": [{"name": "d", "volume_id": VOL, "image_tags": {f"k{i}": "v" for i in range(10)}}]},
        "data_images[0].image_tags",
    ),
]
