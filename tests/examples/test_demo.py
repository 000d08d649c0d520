"""`make demo` (scripts/demo.sh) on a machine without the Pulumi CLI, with it, and with only its installer.

The Pulumi CLI cannot be installed here, so where the script calls it, a stand-in on PATH records each call
(and checks that the endpoint it is given is a live emulator): that exercises the script up to the CLI
calls. Without the CLI the script runs the real offline dry run, which must make and delete the image.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent  # the venv running the tests has the package's console scripts

FAILING_CURL = "#!/bin/sh\nexit 7\n"  # no network: every download fails

PULUMI_STAND_IN = """\
#!{python}
import json, os, sys, urllib.request
args = sys.argv[1:]
with open(os.environ["PULUMI_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:1] == ["version"]:
    print("v3.999.0")
if args[:3] == ["config", "set", "ims:endpoint"]:
    with urllib.request.urlopen(args[3] + "/_emulator/health", timeout=5) as answer:
        assert answer.status == 200
if args[:2] == ["stack", "output"]:
    print("image_id  (stand-in)")
"""


def _run_demo(home: Path, path_dirs: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"]),
        "VENV": str(VENV),
        "DEMO_JOB_SECONDS": "0.5",
        "PULUMI_CALLS": str(home / "pulumi-calls.jsonl"),
        "DEMO_STATE_DIR": str(home / "demo-state"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def _calls(home: Path) -> list[list[str]]:
    log = home / "pulumi-calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_demo_without_the_cli_or_its_installer_is_a_dry_run_that_makes_and_deletes_the_image(
    tmp_path: Path,
) -> None:
    _executable(tmp_path / "bin" / "curl", FAILING_CURL)

    done = _run_demo(tmp_path, [tmp_path / "bin"])

    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first == (
        "demo: no Pulumi CLI, and its installer (https://get.pulumi.com) cannot be reached; running the "
        "quickstart as a dry run instead (no Pulumi CLI, nothing deployed):"
    )
    assert "DRY RUN" in done.stdout
    assert 'image_id = "' in done.stdout and 'status = "active"' in done.stdout
    assert "done: 1 image(s) made and deleted; nothing was deployed." in done.stdout
    assert not (tmp_path / ".pulumi").exists()


def test_demo_with_the_cli_runs_up_output_and_destroy_against_a_live_emulator(tmp_path: Path) -> None:
    _executable(tmp_path / ".pulumi" / "bin" / "pulumi", PULUMI_STAND_IN.format(python=sys.executable))
    _executable(tmp_path / "bin" / "curl", FAILING_CURL)

    done = _run_demo(tmp_path, [tmp_path / "bin"])

    assert done.returncode == 0, done.stdout + done.stderr
    assert "installing" not in done.stdout and "dry run" not in done.stdout
    calls = _calls(tmp_path)
    assert calls[0] == ["version"]
    assert calls[1] == ["stack", "select", "--create", "demo"]
    assert calls[2][:3] == ["config", "set", "ims:endpoint"] and calls[2][3].startswith("http://127.0.0.1:")
    assert calls[3:] == [
        ["config", "set", "ims:region", "cn-north-4"],
        ["config", "set", "ims:accessKey", "EMULATORACCESSKEY"],
        ["config", "set", "--secret", "ims:secretKey", "EMULATORSECRETKEY"],
        ["up", "--yes"],
        ["stack", "output"],
        ["destroy", "--yes"],
    ]


def test_demo_says_what_it_installs_and_where_before_it_runs_the_installer(tmp_path: Path) -> None:
    """The installer (here: a stand-in that the stand-in curl serves) is announced first, then used."""
    installer = (
        'mkdir -p "$HOME/.pulumi/bin"\n'
        "cat > \"$HOME/.pulumi/bin/pulumi\" <<'CLI'\n"
        f"{PULUMI_STAND_IN.format(python=sys.executable)}CLI\n"
        'chmod +x "$HOME/.pulumi/bin/pulumi"\n'
    )
    _executable(tmp_path / "installer.sh", installer)
    serve = f'#!/bin/sh\ncase "$*" in *"-o /dev/null"*) exit 0 ;; esac\ncat "{tmp_path / "installer.sh"}"\n'
    _executable(tmp_path / "bin" / "curl", serve)

    done = _run_demo(tmp_path, [tmp_path / "bin"])

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "demo: the Pulumi CLI is missing: installing it with its official installer (https://get.pulumi.com)",
        f"demo: into {tmp_path}/.pulumi/bin (set DEMO_NO_INSTALL=1 to never install; remove that "
        "directory to undo)",
    ]
    assert [c for c in _calls(tmp_path) if c[:1] in (["up"], ["destroy"])] == [
        ["up", "--yes"],
        ["destroy", "--yes"],
    ]
