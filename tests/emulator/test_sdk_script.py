"""The README's official-SDK script runs as written against an emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ims_provider.emulator import EmulatorServer

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "official_sdk_against_emulator.py"


def test_the_sdk_script_lists_creates_polls_and_deletes() -> None:
    with EmulatorServer(job_seconds=1.0) as emu:
        run = subprocess.run(
            [sys.executable, str(SCRIPT)],
            env={**os.environ, "IMS_ENDPOINT": emu.url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "0 private image(s) before" in run.stdout and "SUCCESS 100%" in run.stdout
        assert "0 private image(s) after" in run.stdout
        [post] = emu.admin.requests(method="POST", path="/v2/cloudimages/action")
        assert post["status"] == 200 and emu.admin.state()["images"] == []
