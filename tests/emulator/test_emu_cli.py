"""The console script: announces its URL, serves signed calls, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests
from emu_support import SdkSignedAuth

from ims_provider.emulator import DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY, AdminClient
from ims_provider.emulator.cli import build_parser


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ims_provider.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    prefix = "ims-emulator listening on "
    assert line.startswith(prefix), (line, process.stderr.read() if process.stderr else "")
    return process, line[len(prefix) :]


def test_cli_serves_and_stops(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(
        json.dumps(
            {
                "servers": [
                    {
                        "id": "my-ecs",
                        "status": "SHUTOFF",
                        "system_volume": {"size": 40, "os_version": "EulerOS 2.9 64bit"},
                    }
                ],
                "objects": [{"bucket": "mine", "key": "disk.qcow2", "storage_class": "COLD"}],
                "quotas": {"images": 7},
            }
        )
    )
    process, url = _start("--job-seconds", "2", "--clock", "manual", "--fixtures", str(fixtures))
    try:
        assert url.startswith("http://127.0.0.1:")
        auth = SdkSignedAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, project_id=DEFAULT_PROJECT_ID)
        response = requests.post(
            url + "/v2/cloudimages/action",
            json={"name": "cli", "instance_id": "my-ecs"},
            auth=auth,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        admin = AdminClient(url)
        assert admin.clock()["mode"] == "manual" and admin.settings()["image_quota"] == 7
        assert admin.settings()["job_seconds"] == 2
        assert any(o["url"] == "mine:disk.qcow2" for o in admin.state()["objects"])
        assert any(s["id"] == "877a2cda-ba63-4e1e-b95f-e67e48b6129a" for s in admin.state()["servers"])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_rejects_a_bad_fixtures_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"servers": [{"status": "FLYING"}]}))
    result = subprocess.run(
        [sys.executable, "-m", "ims_provider.emulator", "--port", "0", "--fixtures", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "status" in result.stderr


def test_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.region, args.clock) == ("127.0.0.1", 8123, "cn-north-4", "real")
    assert args.access_key == "EMULATORACCESSKEY" and args.secret_key == "EMULATORSECRETKEY"


def test_parser_takes_several_regions() -> None:
    args = build_parser().parse_args(
        ["--region", "cn-south-1", "--region", "cn-east-3", "--region", "ap-southeast-1"]
    )
    assert (args.region, args.more_regions) == ("cn-south-1", ["cn-east-3", "ap-southeast-1"])


def test_cli_serves_every_region_on_its_own_port() -> None:
    process, url = _start("--region", "cn-north-4", "--region", "cn-south-1")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        prefix = "ims-emulator region cn-south-1 listening on "
        assert line.startswith(prefix), line
        south = line[len(prefix) :]
        assert south != url
        project = requests.get(
            south + "/v3/projects",
            params={"name": "cn-south-1"},
            auth=SdkSignedAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY),
            timeout=10,
        ).json()["projects"][0]["id"]
        auth = SdkSignedAuth(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, project_id=project)
        assert requests.get(south + "/v2/cloudimages", auth=auth, timeout=10).json() == {"images": []}
        assert AdminClient(url).state()["regions"] == ["cn-north-4", "cn-south-1"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
