"""What users install: the wheel holds the package (typed, with its console script) and nothing else, and a
fresh environment with only the wheel and its dependencies runs a program under Pulumi's mocks."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import asyncio

import pulumi
from ims_provider import PrivateImage, PrivateImageArgs

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        assert args.typ == "pulumi-python:dynamic/ims:PrivateImage", args.typ
        return "img-1", {**args.inputs, "image_id": "img-1", "status": "active"}

    def call(self, args):
        return {}, None

pulumi.runtime.set_mocks(Mocks(), project="wheel", stack="test", preview=False)
image = PrivateImage("golden", PrivateImageArgs(name="web", instance_id="ecs-1", min_ram=1024))
done = loop.create_future()
image.image_id.apply(done.set_result)
print("image_id", loop.run_until_complete(done))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("ims_provider-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    yield python


def test_the_wheel_holds_the_typed_package_and_its_console_script_but_no_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "ims_provider/__init__.py" in names and "ims_provider/py.typed" in names
    assert "ims_provider/model/private_image.py" in names and "ims_provider/emulator/README.md" not in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/", "scripts/"))]
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "ims-emulator = ims_provider.commands:emulator" in text
    assert "ims-provider = ims_provider.commands:main" in text


def test_a_fresh_environment_with_only_the_wheel_runs_a_program_under_mocks(fresh_venv: Path) -> None:
    run = subprocess.run([str(fresh_venv), "-c", PROGRAM], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "image_id img-1" in run.stdout


@pytest.mark.parametrize(
    "command", [["ims-emulator", "--port", "0"], ["ims-provider", "try", "examples/quickstart"]]
)
def test_the_commands_without_the_emulator_extra_say_what_to_install(
    fresh_venv: Path, command: list[str]
) -> None:
    script = fresh_venv.parent / command[0]
    run = subprocess.run([str(script), *command[1:]], capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "ims-provider[emulator]" in run.stderr and "Traceback" not in run.stderr


def test_ims_provider_without_a_command_shows_its_usage(fresh_venv: Path) -> None:
    script = fresh_venv.parent / "ims-provider"
    usage = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert usage.returncode == 0 and "try <directory>" in usage.stdout
    unknown = subprocess.run([str(script), "deploy"], capture_output=True, text=True, check=False)
    assert unknown.returncode == 2 and "unknown command 'deploy'" in unknown.stderr
