"""Helpers for the engine-protocol lifecycle tests: engine-shaped steps, the request log, out-of-band work."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pulumi.runtime.proto import provider_pb2

from ims_provider.client import ImsClient
from ims_provider.emulator.fixtures import SEED_ECS_ID
from ims_provider.emulator.server import EmulatorServer
from ims_provider.jobs import job_image_ids
from tests.engine.host import DynamicProviderHost

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME
CREATE_PATH = "/v2/cloudimages/action"


@dataclass
class Deployed:
    """One resource as the engine keeps it: ID, outputs (state) and inputs."""

    name: str
    id: str
    state: dict[str, Any]
    inputs: dict[str, Any]


def up(host: DynamicProviderHost, name: str, program: dict[str, Any]) -> Deployed:
    """``pulumi up`` of a new resource: Check, then Create."""
    inputs = host.checked(name, program)
    id_, state = host.create(name, inputs)
    return Deployed(name, id_, state, inputs)


def update(host: DynamicProviderHost, res: Deployed, program: dict[str, Any]) -> Deployed:
    """``pulumi up`` of a changed resource the engine decided to update: Check, Diff (asserted in-place),
    Update. Returns the new engine view."""
    diff, news = host.preview(res.name, res.id, res.state, res.inputs, program)
    assert diff.changes == DIFF_SOME and list(diff.replaces) == [], diff
    state = host.update(res.name, res.id, res.state, news)
    return Deployed(res.name, res.id, state, news)


def body_of(entry: dict[str, Any]) -> Any:
    """The logged JSON body; a tag action's tags sorted by key (maps lose their order on the wire)."""
    body = entry["body"]
    body = json.loads(body) if isinstance(body, str) and body else body
    if isinstance(body, dict) and isinstance(body.get("tags"), list):
        body = {**body, "tags": sorted(body["tags"], key=lambda t: str(t.get("key")))}
    return body


def writes(emu: EmulatorServer) -> list[tuple[str, str, Any, int]]:
    """Every request that could change IMS (not GET), as (method, path, body, status)."""
    return [
        (e["method"], e["path"], body_of(e), e["status"])
        for e in emu.admin.requests()
        if e["method"] != "GET"
    ]


def images(emu: EmulatorServer) -> dict[str, dict[str, Any]]:
    return {img["id"]: img for img in emu.admin.state()["images"]}


def live_tags(console: ImsClient, image_id: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in console.list_tags(image_id) if t["key"] != "ims-provider-claim"}


def make_image(console: ImsClient, name: str, **extra: Any) -> str:
    """An image made outside Pulumi (from the seeded ECS), once active."""
    job_id = console.create_image({"name": name, "instance_id": SEED_ECS_ID, **extra})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = console.get_job(job_id)
        if job["status"] == "SUCCESS":
            return job_image_ids(job)[0]
        assert job["status"] != "FAIL", job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")
