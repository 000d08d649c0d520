"""Every example program, run in-process with mocks, makes its images for real in the emulator."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

import pytest
from pulumi.runtime.mocks import MockResourceArgs

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator.fixtures import (
    MULTIDISK_DATA_VOLUME_IDS,
    MULTIDISK_ECS_ID,
    SEED_DATA_VOLUME_ID,
    SEED_ECS_ID,
    SEED_OS_VOLUME_ID,
)
from tests.examples.harness import (
    DYNAMIC_TYPE_PREFIX,
    EXAMPLES_DIR,
    CheckFailedError,
    ExampleMocks,
    Registered,
    project_name,
    run_example,
)

EXAMPLES = (
    "quickstart",
    "ecs-system-and-data-images",
    "obs-import",
    "volume-to-system-image",
    "composed",
)
CREATE_PATH = "/v2/cloudimages/action"
ECS_TYPE = "huaweicloud:Ecs/instance:Instance"
BASE_IMAGE_ID = "a8b7c6d5-0000-4f00-8e00-00000000c079"  # a "public" image only the ECS mock knows
BASE_IMAGE_OS = "CentOS 7.9 64bit"


# --- helpers ----------------------------------------------------------------------------------------------


def run(
    example: str, emu_config: Mapping[str, str], **program_config: str
) -> tuple[dict[str, Any], ExampleMocks]:
    """Run an example whose ``pulumi.Config()`` keys are given unprefixed; return (outputs, mocks)."""
    project = project_name(example)
    config = {**emu_config, **{f"{project}:{k}": v for k, v in program_config.items()}}
    mocks = ExampleMocks(config, project)
    return run_example(example, mocks, config), mocks


def create_bodies(emu: EmulatorServer) -> dict[str, dict[str, Any]]:
    """Create requests by image name (the first data image's for a data-only request); each succeeded and
    none was sent twice."""
    bodies: dict[str, dict[str, Any]] = {}
    for entry in emu.admin.requests(method="POST", path=CREATE_PATH):
        assert entry["status"] == 200, entry
        body = entry["body"]
        name = body.get("name") or body["data_images"][0]["name"]
        assert name not in bodies, f"image {name} was requested twice"
        bodies[name] = body
    return bodies


def images_by_id(emu: EmulatorServer) -> dict[str, dict[str, Any]]:
    """The emulator's live images (as its state shows them), by ID."""
    return {image["id"]: image for image in emu.admin.state()["images"]}


def dynamic(mocks: ExampleMocks) -> dict[str, Registered]:
    """The PrivateImage resources a run registered, by resource name."""
    return mocks.of_type(DYNAMIC_TYPE_PREFIX)


class EcsMock:
    """pulumi-huaweicloud ECSs become emulator servers, so IMS can image them and their images can boot them.

    ``power_action: OFF`` gives a stopped server (SHUTOFF), anything else a running one (ACTIVE). An ECS
    launched from an image takes its OS from it, and fails like ECS would unless the image is active in the
    emulator and fits on the system disk.
    """

    def __init__(self, emu: EmulatorServer, public_images: Mapping[str, str]) -> None:
        self.emu = emu
        self.public_images = dict(public_images)
        self.servers: dict[str, dict[str, Any]] = {}

    def __call__(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = args.inputs
        image_id = str(inputs["imageId"])
        disk_gb = int(inputs.get("systemDiskSize") or 40)
        os_version = self.public_images.get(image_id) or self._private_image_os(image_id, disk_gb)
        stopped = inputs.get("powerAction") in ("OFF", "FORCE-OFF")
        server = self.emu.admin.add_server(
            name=inputs["name"],
            status="SHUTOFF" if stopped else "ACTIVE",
            system_volume={"size": disk_gb, "os_version": os_version},
        )
        self.servers[args.name] = server
        return server["id"], {**inputs, "status": "SHUTOFF" if stopped else "ACTIVE"}

    def _private_image_os(self, image_id: str, disk_gb: int) -> str:
        image = images_by_id(self.emu).get(image_id)
        if image is None or image["status"] != "active":
            raise AssertionError(f"ECS launched from image {image_id}, which is not an active image")
        if int(image["min_disk"]) > disk_gb:
            raise AssertionError(f"image {image_id} needs {image['min_disk']} GB, the disk has {disk_gb} GB")
        return str(image["__os_version"])


# --- layout -----------------------------------------------------------------------------------------------


def test_every_example_directory_is_listed() -> None:
    """A new example directory must be added to EXAMPLES (and so get a test and a README paragraph)."""
    found = {p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert found == set(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_a_python_pulumi_project(example: str) -> None:
    """Pulumi.yaml (python runtime), __main__.py, requirements.txt, and a README paragraph."""
    directory = EXAMPLES_DIR / example
    manifest = (directory / "Pulumi.yaml").read_text(encoding="utf-8")
    assert re.search(r"^runtime:\s*(python\s*$|\n\s+name:\s*python\s*$)", manifest, re.MULTILINE), manifest
    assert project_name(example).startswith("ims-")
    source = (directory / "__main__.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert ast.get_docstring(tree), f"examples/{example}/__main__.py needs a docstring"
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"random", "time", "uuid", "datetime", "secrets"}, "examples must be deterministic"
    requirements = {
        re.split(r"[\[<>=~ ]", line.strip())[0]
        for line in (directory / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    repository = EXAMPLES_DIR.parent.resolve()
    from_checkout = any((directory / r).resolve() == repository for r in requirements)
    assert "ims-provider" in requirements or from_checkout
    assert ("pulumi-huaweicloud" in requirements) == ("pulumi_huaweicloud" in imported)
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^## `?{re.escape(example)}`?\s*$", readme, re.MULTILINE), f"README lacks ## {example}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_deterministic(example: str) -> None:
    """Two runs register the same resources with the same inputs (providers not called)."""
    project = project_name(example)
    config = {f"{project}:subnetId": "subnet-1", f"{project}:baseImageId": BASE_IMAGE_ID}

    def echo(args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    runs = []
    for _ in range(2):
        mocks = ExampleMocks(config, project, handlers={ECS_TYPE: echo}, call_dynamic=False)
        run_example(example, mocks, config)
        runs.append(sorted((r.typ, r.name, repr(sorted(r.inputs.items()))) for r in mocks.resources))
    assert runs[0] == runs[1]
    assert any(typ.startswith(DYNAMIC_TYPE_PREFIX) for typ, _, _ in runs[0])


# --- quickstart -------------------------------------------------------------------------------------------


def test_quickstart(emu: EmulatorServer, stack_config: dict[str, str]) -> None:
    outputs, mocks = run("quickstart", stack_config)

    assert mocks.check_failures == []
    image = images_by_id(emu)[outputs["image_id"]]
    assert outputs == {"image_id": image["id"], "status": "active", "os_version": "CentOS 7.9 64bit"}
    assert image["__data_origin"] == f"instance,{SEED_ECS_ID}"
    assert image["tags"] == ["team.web"]
    assert create_bodies(emu) == {
        "web-golden": {
            "name": "web-golden",
            "description": "Golden image of the web tier",
            "instance_id": SEED_ECS_ID,
            "image_tags": [{"key": "team", "value": "web"}],
            "min_ram": 1024,
        }
    }


def test_quickstart_reads_its_config(emu: EmulatorServer, stack_config: dict[str, str]) -> None:
    """`ims-quickstart:instanceId` / `imageName` choose another server and name."""
    outputs, _ = run("quickstart", stack_config, instanceId=MULTIDISK_ECS_ID, imageName="euler-golden")

    image = images_by_id(emu)[outputs["image_id"]]
    assert (image["name"], image["__data_origin"]) == ("euler-golden", f"instance,{MULTIDISK_ECS_ID}")
    assert outputs["os_version"] == "Huawei Cloud EulerOS 2.0 64bit"


# --- ecs-system-and-data-images ---------------------------------------------------------------------------


def test_ecs_system_and_data_images(emu: EmulatorServer, stack_config: dict[str, str]) -> None:
    outputs, mocks = run("ecs-system-and-data-images", stack_config)

    assert mocks.check_failures == []
    images = images_by_id(emu)
    assert len(images) == 2
    system = images[outputs["image_id"]]
    assert system["__data_origin"] == f"instance,{SEED_ECS_ID}"
    assert system["virtual_env_type"] == "FusionCompute"
    assert (system["min_ram"], int(system["max_ram"])) == (1024, 8192)
    assert sorted(system["tags"]) == ["team.app", "tier.backend"]
    [data_id] = outputs["data_image_ids"]
    data = images[data_id]
    assert (data["name"], data["virtual_env_type"]) == ("app-server-data-1", "DataImage")
    assert data["__data_origin"] == f"volume,{SEED_DATA_VOLUME_ID}"
    assert outputs == {
        "image_id": system["id"],
        "data_image_ids": [data_id],
        "os_version": "CentOS 7.9 64bit",
        "min_ram": 1024,
        "max_ram": 8192,
    }
    assert create_bodies(emu) == {
        "app-server-system": {
            "name": "app-server-system",
            "description": "System disk of the app server",
            "instance_id": SEED_ECS_ID,
            "tags": ["team.app", "tier.backend"],
            "min_ram": 1024,
            "max_ram": 8192,
            "data_images": [
                {
                    "name": "app-server-data-1",
                    "volume_id": SEED_DATA_VOLUME_ID,
                    "description": "Data disk 1 of the app server",
                    "tags": ["team.app", "disk.data1"],
                }
            ],
        }
    }


def test_ecs_data_image_ids_follow_the_configured_disk_order(
    emu: EmulatorServer, stack_config: dict[str, str]
) -> None:
    """Two data disks listed in reverse: data_image_ids[i] is the image of dataVolumeIds[i]."""
    volumes = [MULTIDISK_DATA_VOLUME_IDS[1], MULTIDISK_DATA_VOLUME_IDS[0]]
    outputs, _ = run(
        "ecs-system-and-data-images",
        stack_config,
        instanceId=MULTIDISK_ECS_ID,
        dataVolumeIds=f'["{volumes[0]}", "{volumes[1]}"]',
        minRam="2048",
        maxRam="4096",
    )

    images = images_by_id(emu)
    origins = [images[i]["__data_origin"] for i in outputs["data_image_ids"]]
    assert origins == [f"volume,{v}" for v in volumes]
    assert [images[i]["name"] for i in outputs["data_image_ids"]] == [
        "app-server-data-1",
        "app-server-data-2",
    ]
    assert (outputs["min_ram"], outputs["max_ram"]) == (2048, 4096)
    assert outputs["os_version"] == "Huawei Cloud EulerOS 2.0 64bit"


# --- obs-import -------------------------------------------------------------------------------------------


def _assert_obs_import(
    emu: EmulatorServer,
    outputs: Mapping[str, Any],
    *,
    system_url: str,
    quick_url: str,
    encrypted_url: str,
    cmk_id: str,
    data_files: list[tuple[str, int]],
) -> None:
    images = images_by_id(emu)
    assert len(images) == 4 + len(data_files)
    plain, quick, encrypted, with_data = (
        images[outputs[key]] for key in ("plain_image_id", "quick_image_id", "encrypted_image_id", "image_id")
    )
    assert plain["__data_origin"] == f"file,{system_url}"
    assert quick["__data_origin"] == f"file,{quick_url}"
    assert encrypted["__data_origin"] == f"file,{encrypted_url}"
    assert encrypted["__system__cmkid"] == cmk_id
    assert "__system__cmkid" not in plain
    assert with_data["__data_origin"] == f"file,{system_url}"
    data = [images[i] for i in outputs["data_image_ids"]]
    assert [(d["__data_origin"], d["min_disk"]) for d in data] == [(f"file,{u}", gb) for u, gb in data_files]
    assert all(d["virtual_env_type"] == "DataImage" for d in data)

    bodies = create_bodies(emu)
    assert set(bodies) == {"obs-plain", "obs-quick", "obs-encrypted", "obs-with-data"}
    assert bodies["obs-plain"]["is_config"] is True and bodies["obs-plain"]["is_config_init"] is True
    assert bodies["obs-quick"]["is_quick_import"] is True
    assert bodies["obs-encrypted"]["cmk_id"] == cmk_id
    assert bodies["obs-with-data"]["data_images"] == [
        {"name": f"obs-with-data-disk{n}", "image_url": url, "min_disk": gb}
        for n, (url, gb) in enumerate(data_files, start=1)
    ]
    assert all("cmk_id" not in b for name, b in bodies.items() if name != "obs-encrypted")


def test_obs_import_with_the_emulator_defaults(emu: EmulatorServer, stack_config: dict[str, str]) -> None:
    outputs, mocks = run("obs-import", stack_config)

    assert mocks.check_failures == []
    assert len(dynamic(mocks)) == 4
    _assert_obs_import(
        emu,
        outputs,
        system_url="ims-image:centos70.qcow2",
        quick_url="ims-image:ubuntu2204.zvhd2",
        encrypted_url="ims-image:centos70.qcow2",
        cmk_id="5f0b8a3e-2d1c-4e6f-9a7b-8c9d0e1f2a3b",
        data_files=[("ims-image:data-disk-1.qcow2", 10), ("ims-image:data-disk-2.qcow2", 20)],
    )
    quick = images_by_id(emu)[outputs["quick_image_id"]]
    assert quick["__os_version"] == "Ubuntu 22.04 server 64bit"


def test_obs_import_with_files_added_through_the_admin_api(
    emu: EmulatorServer, stack_config: dict[str, str]
) -> None:
    """Files the emulator does not seed: the test uploads them, the program takes their names from config."""
    for key, size_gb, fmt in (
        ("app.qcow2", 30, "qcow2"),
        ("app.raw", 40, "raw"),
        ("secure.vhd", 20, "vhd"),
        ("logs.qcow2", 50, "qcow2"),
        ("db.qcow2", 100, "qcow2"),
        ("cache.qcow2", 5, "qcow2"),
    ):
        emu.admin.add_object(bucket="acme-images", key=key, size_gb=size_gb, format=fmt)
    data_files = [
        ("acme-images:logs.qcow2", 60),
        ("acme-images:db.qcow2", 100),
        ("acme-images:cache.qcow2", 5),
    ]
    cmk_id = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"

    outputs, mocks = run(
        "obs-import",
        stack_config,
        systemImageUrl="acme-images:app.qcow2",
        osVersion="Ubuntu 22.04 server 64bit",
        quickImportUrl="acme-images:app.raw",
        quickImportOsVersion="Ubuntu 22.04 server 64bit",
        encryptedImageUrl="acme-images:secure.vhd",
        cmkId=cmk_id,
        dataFiles="[" + ", ".join(f'{{"imageUrl": "{u}", "minDisk": {gb}}}' for u, gb in data_files) + "]",
    )

    assert mocks.check_failures == []
    _assert_obs_import(
        emu,
        outputs,
        system_url="acme-images:app.qcow2",
        quick_url="acme-images:app.raw",
        encrypted_url="acme-images:secure.vhd",
        cmk_id=cmk_id,
        data_files=data_files,
    )


def test_obs_import_check_failure_stops_before_any_api_call(
    emu: EmulatorServer, stack_config: dict[str, str]
) -> None:
    """A data file with min_disk 0 fails the provider's check: that image alone is never requested."""
    project = project_name("obs-import")
    config = {
        **stack_config,
        f"{project}:dataFiles": '[{"imageUrl": "ims-image:data-disk-1.qcow2", "minDisk": 0}]',
    }
    mocks = ExampleMocks(config, project)

    with pytest.raises(
        CheckFailedError, match=r"with-data: data_images\[0\]\.min_disk: .*between 1 and 2048"
    ):
        run_example("obs-import", mocks, config)

    assert [(name, prop) for name, prop, _ in mocks.check_failures] == [
        ("with-data", "data_images[0].min_disk")
    ]
    assert set(create_bodies(emu)) == {"obs-plain", "obs-quick", "obs-encrypted"}
    assert sorted(image["status"] for image in images_by_id(emu).values()) == ["active"] * 3


# --- volume-to-system-image -------------------------------------------------------------------------------


def test_volume_to_system_image(emu: EmulatorServer, stack_config: dict[str, str]) -> None:
    outputs, mocks = run("volume-to-system-image", stack_config)

    assert mocks.check_failures == []
    image = images_by_id(emu)[outputs["image_id"]]
    assert outputs == {
        "image_id": image["id"],
        "os_version": "CentOS 7.0 64bit",
        "min_disk": 40,
        "data_origin": f"volume,{SEED_OS_VOLUME_ID}",
    }
    assert (image["status"], image["__os_version"], image["min_ram"]) == ("active", "CentOS 7.0 64bit", 512)
    assert sorted(image["tags"]) == ["origin.volume", "os.centos7"]
    assert create_bodies(emu) == {
        "restored-from-volume": {
            "name": "restored-from-volume",
            "description": "System image of a data disk that holds an OS",
            "volume_id": SEED_OS_VOLUME_ID,
            "os_version": "CentOS 7.0 64bit",
            "type": "ECS",
            "tags": ["origin.volume", "os.centos7"],
            "min_ram": 512,
        }
    }


# --- composed ---------------------------------------------------------------------------------------------


def test_composed_stack_launches_an_ecs_from_the_new_image(
    emu: EmulatorServer, stack_config: dict[str, str]
) -> None:
    """builder ECS (mocked, but a real emulator server) -> PrivateImage of it -> app ECS from that image."""
    project = project_name("composed")
    config = {**stack_config, f"{project}:subnetId": "subnet-1", f"{project}:baseImageId": BASE_IMAGE_ID}
    ecs = EcsMock(emu, {BASE_IMAGE_ID: BASE_IMAGE_OS})
    mocks = ExampleMocks(config, project, handlers={ECS_TYPE: ecs})

    outputs = run_example("composed", mocks, config)

    assert mocks.check_failures == []
    builder, app = ecs.servers["builder"], ecs.servers["app"]
    assert builder["status"] == "SHUTOFF"  # power_action OFF: IMS can image it
    golden = dynamic(mocks)["golden"]
    assert golden.inputs["instance_id"] == builder["id"]
    image = images_by_id(emu)[outputs["image_id"]]
    assert image["__data_origin"] == f"instance,{builder['id']}"
    assert (image["status"], image["__os_version"]) == ("active", BASE_IMAGE_OS)
    assert create_bodies(emu)["golden-app"]["instance_id"] == builder["id"]
    ecs_inputs = {r.name: r.inputs for r in mocks.resources if r.typ == ECS_TYPE}
    assert ecs_inputs["builder"]["imageId"] == BASE_IMAGE_ID
    assert ecs_inputs["app"]["imageId"] == image["id"] == golden.id
    assert outputs == {
        "builder_id": builder["id"],
        "image_id": image["id"],
        "app_id": app["id"],
        "app_image_id": image["id"],
    }
    assert app["status"] == "ACTIVE"
    assert app["volumes"][0]["os_version"] == BASE_IMAGE_OS


def test_composed_requires_its_network_and_base_image(stack_config: dict[str, str]) -> None:
    project = project_name("composed")
    mocks = ExampleMocks(stack_config, project, handlers={ECS_TYPE: lambda a: ("x", dict(a.inputs))})
    with pytest.raises(Exception, match=f"{project}:subnetId"):
        run_example("composed", mocks, stack_config)
    assert mocks.resources == []
