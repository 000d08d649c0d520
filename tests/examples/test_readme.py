"""The README's "Use it in your stack" runs as written: its Pulumi.yaml, its program and its config lines for
the emulator make the image they promise (under Pulumi's mock runtime, with the real provider)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ims_provider.commands import main
from ims_provider.emulator import EmulatorServer
from ims_provider.emulator.fixtures import SEED_ECS_ID
from ims_provider.mockrun import ProgramMocks, project_name, run_program

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def _config_lines(block: str) -> dict[str, str]:
    """``pulumi config set [--secret] KEY VALUE`` lines, as a stack config."""
    config = {}
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["pulumi", "config", "set"]:
            key, value = [w for w in words[3:] if w != "--secret"]
            config[key] = value
    return config


def _write_project(directory: Path) -> list[str]:
    """The README's project (Pulumi.yaml and __main__.py) in ``directory``; returns its bash blocks."""
    section = _section("Use it in your stack")
    blocks = _blocks(section, "bash")
    [program] = _blocks(section, "python")
    manifest = re.search(r"cat > Pulumi.yaml <<'EOF'\n(.*?)EOF\n", blocks[0], re.DOTALL)
    assert manifest is not None
    (directory / "Pulumi.yaml").write_text(manifest.group(1), encoding="utf-8")
    (directory / "__main__.py").write_text(program, encoding="utf-8")
    return blocks


def test_use_it_in_your_stack_runs_as_written(emu: EmulatorServer, tmp_path: Path) -> None:
    _setup, against_emulator, against_cloud = _write_project(tmp_path)
    project = project_name(tmp_path)
    written = _config_lines(against_emulator)
    assert written["ims:endpoint"] == "http://127.0.0.1:8123"  # where the README starts the emulator
    assert written["instanceId"] == SEED_ECS_ID and written["ims:secretKey"] == emu.secret_key
    # The program's own keys are namespaced by the project name, as `pulumi config set` does.
    config = {k if ":" in k else f"{project}:{k}": v for k, v in written.items()}
    config.update({"ims:endpoint": emu.url, "ims:pollDelay": "0.2", "ims:progress": "false"})
    mocks = ProgramMocks(config, project)

    outputs = run_program(tmp_path, mocks, config)

    [image] = emu.admin.state()["images"]
    assert outputs == {"image_id": image["id"], "os_version": "CentOS 7.9 64bit"}
    assert (image["name"], image["status"], image["tags"]) == ("web-golden", "active", ["team.web"])
    assert image["__data_origin"] == f"instance,{SEED_ECS_ID}"
    assert set(_config_lines(against_cloud)) == {"ims:region", "ims:accessKey", "ims:secretKey", "instanceId"}

    mocks.destroy()
    assert emu.admin.state()["images"] == []


def test_its_dry_run_command_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's `ims-provider try . --config ...` line, run in the README's project."""
    _write_project(tmp_path)
    command = re.search(r"`\.venv/bin/ims-provider (try \. [^`]*)`", _section("Use it in your stack"))
    assert command is not None
    argv = shlex.split(command.group(1))
    assert argv[:2] == ["try", "."]

    status = main([*argv[:1], str(tmp_path), *argv[2:], "--job-seconds", "0.5", "--quiet"])

    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "done: 1 image(s) made and deleted" in printed and "'web-golden'  active" in printed
