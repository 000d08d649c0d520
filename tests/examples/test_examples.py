"""Every example program, run in-process with mocks, makes its images for real in the emulator."""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime.mocks import MockResourceArgs

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator.fixtures import (
    MULTIDISK_DATA_VOLUME_IDS,
    MULTIDISK_ECS_ID,
    SEED_DATA_VOLUME_ID,
    SEED_ECS_ID,
    SEED_OS_VOLUME_ID,
)
from ims_provider.mockrun import (
    DYNAMIC_TYPE_PREFIX,
    ECS_TYPE,
    CheckFailedError,
    EcsEmulation,
    ProgramMocks,
    Registered,
    run_program,
)
from ims_provider.mockrun import project_name as project_of
from ims_provider.tryout import BASE_IMAGE_ID, BASE_IMAGE_OS, Trial, try_example

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = (
    "quickstart",
    "ecs-system-and-data-images",
    "obs-import",
    "volume-to-system-image",
    "composed",
    "golden-pipeline",
)
# Every Pulumi project under examples/: an example may hold a second stack (golden-pipeline's consumer).
PROJECTS = (*EXAMPLES, "golden-pipeline/consumer")
ROOT_MANIFEST = EXAMPLES_DIR.parent / "Pulumi.yaml"
CREATE_PATH = "/v2/cloudimages/action"


# --- helpers ----------------------------------------------------------------------------------------------


def project_name(example: str) -> str:
    return project_of(EXAMPLES_DIR / example)


def run_example(example: str, mocks: ProgramMocks, config: Mapping[str, str]) -> dict[str, Any]:
    return run_program(EXAMPLES_DIR / example, mocks, config, stack="test")


def run(
    example: str, emu_config: Mapping[str, str], **program_config: str
) -> tuple[dict[str, Any], ProgramMocks]:
    """Run an example whose ``pulumi.Config()`` keys are given unprefixed; return (outputs, mocks)."""
    project = project_name(example)
    config = {**emu_config, **{f"{project}:{k}": v for k, v in program_config.items()}}
    mocks = ProgramMocks(config, project)
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


def dynamic(mocks: ProgramMocks) -> dict[str, Registered]:
    """The PrivateImage resources a run registered, by resource name."""
    return mocks.of_type(DYNAMIC_TYPE_PREFIX)


# --- layout -----------------------------------------------------------------------------------------------


def test_every_example_directory_is_listed() -> None:
    """A new example directory must be added to EXAMPLES (and so get a test and a README paragraph)."""
    found = {p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert found == set(EXAMPLES)


@pytest.mark.parametrize("project", PROJECTS)
def test_example_is_a_python_pulumi_project(project: str) -> None:
    """Pulumi.yaml with the root one's runtime (python, a `.venv` virtualenv), __main__.py,
    requirements.txt, and a README paragraph."""
    directory = EXAMPLES_DIR / project
    manifest = yaml.safe_load((directory / "Pulumi.yaml").read_text(encoding="utf-8"))
    root = yaml.safe_load(ROOT_MANIFEST.read_text(encoding="utf-8"))
    assert manifest["runtime"] == root["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert set(manifest) == {"name", "description", "runtime"}
    assert project_name(project).startswith("ims-")
    source = (directory / "__main__.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert ast.get_docstring(tree), f"examples/{project}/__main__.py needs a docstring"
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
    heading = project.split("/")[0]
    assert re.search(rf"^## `?{re.escape(heading)}`?\s*$", readme, re.MULTILINE), f"README lacks ## {heading}"


# The required config of the programs, for runs that do not call the providers.
PROGRAM_CONFIG = {
    "subnetId": "subnet-1",
    "baseImageId": BASE_IMAGE_ID,
    "copyRegion": "cn-south-1",
    "agencyName": "ims_admin_agency",
    "consumerProjectId": "e" * 32,
}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_deterministic(example: str) -> None:
    """Two runs register the same resources with the same inputs (providers not called)."""
    project = project_name(example)
    config = {f"{project}:{key}": value for key, value in PROGRAM_CONFIG.items()}

    def echo(args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    runs = []
    for _ in range(2):
        mocks = ProgramMocks(config, project, handlers={ECS_TYPE: echo}, call_dynamic=False)
        run_example(example, mocks, config)
        runs.append(sorted((r.typ, r.name, repr(sorted(r.inputs.items()))) for r in mocks.resources))
    assert runs[0] == runs[1]
    assert any(typ.startswith(DYNAMIC_TYPE_PREFIX) for typ, _, _ in runs[0])


@pytest.mark.parametrize("example", EXAMPLES)
def test_ims_provider_try_runs_the_example(example: str) -> None:
    """`ims-provider try examples/<name>` (the offline demo's runner): the program runs against a fresh
    emulator, its images are made, shown and deleted again, and it says so with exit status 0."""
    out = io.StringIO()

    status = try_example(EXAMPLES_DIR / example, job_seconds=0.5, progress=False, out=out)

    text = out.getvalue()
    assert status == 0, text
    assert "DRY RUN" in text and "deploys nothing" in text
    made = re.search(r"done: (\d+) image\(s\) made and deleted", text)
    assert made is not None and int(made.group(1)) >= 1, text
    listed = text.split("images in the emulator:")[1].split("deleting what the run made")[0]
    assert len(re.findall(r"^   cn-[a-z]+-\d+  [0-9a-f-]{36}  ", listed, re.MULTILINE)) == int(made.group(1))
    assert text.split("images left in the emulator:")[1].split()[0] == "none"


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
    mocks = ProgramMocks(config, project)

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
    ecs = EcsEmulation(emu.admin, {BASE_IMAGE_ID: BASE_IMAGE_OS})
    mocks = ProgramMocks(config, project, handlers={ECS_TYPE: ecs})

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
    mocks = ProgramMocks(stack_config, project, handlers={ECS_TYPE: lambda a: ("x", dict(a.inputs))})
    with pytest.raises(Exception, match=f"{project}:subnetId"):
        run_example("composed", mocks, stack_config)
    assert mocks.resources == []


# --- golden-pipeline ----------------------------------------------------------------------------------------


def test_golden_pipeline_producer_then_consumer(emu: EmulatorServer) -> None:
    """Producer: builder ECS -> PrivateImage -> ImageCopy to cn-south-1 -> ImageShare with the consumer's
    project there. Consumer (the emulator's second account): StackReference -> ImageShareAccepter ->
    get_image_output(most_recent, shared, tags) -> an app ECS in cn-south-1 from that image. Then both are
    destroyed, the consumer first: nothing is left."""
    home, other = emu.regions
    trial = Trial(emu, progress=False)
    producer = trial.run(EXAMPLES_DIR / "golden-pipeline")
    consumer = trial.run(EXAMPLES_DIR / "golden-pipeline" / "consumer")

    assert producer.mocks.check_failures == consumer.mocks.check_failures == []
    [golden] = emu.admin.state(home)["images"]
    [copy] = emu.admin.state(other)["images"]
    builder = next(s for s in emu.admin.state(home)["servers"] if s["name"] == "golden-builder")
    assert golden["__data_origin"] == f"instance,{builder['id']}"
    assert (copy["owner"], copy["__originalimagename"]) == (emu.project_for(other), golden["id"])
    assert (copy["name"], copy["status"], copy["min_ram"]) == ("golden-2026.12", "active", 1024)
    assert sorted(copy["tags"]) == ["pipeline.golden", "release.2026.12"]
    member = emu.project_for(other, "member")
    assert producer.outputs == {
        "image_id": golden["id"],
        "copy_image_id": copy["id"],
        "copy_region": other,
        "members": [{"project_id": member, "status": "pending"}],
        "release": "2026.12",
    }
    [membership] = emu.admin.state(other)["members"]
    assert (membership["image_id"], membership["member_id"], membership["status"]) == (
        copy["id"],
        member,
        "accepted",
    )
    app = next(s for s in emu.admin.state(other)["servers"] if s["name"] == "app-from-golden")
    assert app["volumes"][0]["os_version"] == BASE_IMAGE_OS
    assert consumer.outputs == {
        "image_id": copy["id"],
        "image_name": "golden-2026.12",
        "accepted_status": "accepted",
        "app_id": app["id"],
    }
    copies = emu.admin.requests(method="POST", path=f"/v1/cloudimages/{golden['id']}/cross_region_copy")
    assert [entry["body"]["agency_name"] for entry in copies] == ["ims_admin_agency"]

    deleted = trial.undo()

    assert [r.name for r in deleted] == ["golden-accepted", "golden-share", "golden-copy", "golden"]
    assert emu.admin.state(home)["images"] == emu.admin.state(other)["images"] == []
    assert emu.admin.state(other)["members"] == []


def test_golden_pipeline_consumer_needs_the_producer(emu: EmulatorServer) -> None:
    """A consumer run before any producer: the StackReference names what is missing; nothing is made."""
    trial = Trial(emu, progress=False)
    with pytest.raises(LookupError, match="StackReference 'acme/ims-golden-pipeline/prod'"):
        trial.run(
            EXAMPLES_DIR / "golden-pipeline" / "consumer",
            {"ims-golden-consumer:producerStack": "acme/ims-golden-pipeline/prod"},
        )
    assert [r for r in trial.runs[0].mocks.resources if r.typ.startswith(DYNAMIC_TYPE_PREFIX)] == []
    assert emu.admin.requests(method="PUT") == []


def test_program_mocks_keep_the_stack_config_out_of_their_repr() -> None:
    """The stack config holds keys; a repr of the mocks (a traceback, a log line) must not show them."""
    mocks = ProgramMocks(stack_config={"ims:secretKey": "not-for-your-eyes"}, project="p")
    assert "not-for-your-eyes" not in repr(mocks)
