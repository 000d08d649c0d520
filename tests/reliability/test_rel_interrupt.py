"""Interrupted runs through the real dynamic provider host: the host killed mid-wait (a second Ctrl-C),
and a create whose deadline passed. The Python host keeps no partial state, so the image is still being
made while no state records it; the re-run with the same inputs must end with exactly that image."""

from __future__ import annotations

import grpc
import pytest

from ims_provider.emulator.server import EmulatorServer
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost
from tests.reliability.conftest import HOST_EXTRA
from tests.reliability.support import (
    IMAGES_PER_KIND,
    claim,
    create_posts,
    images,
    inputs_for,
    kill_mid_wait,
    wait_until,
)


@pytest.mark.parametrize("kind", ["ecs_data", "data_only"])
def test_host_killed_mid_wait_then_a_new_host_adopts_the_image(emu: EmulatorServer, kind: str) -> None:
    emu.admin.update_settings(job_seconds=4.0)
    name = f"killed-{kind}"
    config = stack_config(emu.url, **HOST_EXTRA)
    program = inputs_for(kind, name)
    job_id = kill_mid_wait(emu, config, name, program)

    with DynamicProviderHost(config) as second:
        rid, state = second.create(name, second.checked(name, program))

    live = images(emu)
    assert len(create_posts(emu)) == 1  # never submitted twice
    assert len(live) == IMAGES_PER_KIND[kind]
    assert {rid, *state["data_image_ids"]} == set(live)
    assert all(claim(emu, image) == rid for image in live.values())
    assert all(image["job_id"] == job_id for image in emu.admin.state()["images"])
    assert state["status"] == "active"


def test_create_deadline_passed_error_names_job_and_remedy_and_the_rerun_adopts(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    emu.admin.update_settings(job_seconds=3.0)
    inputs = host.checked("late", {**inputs_for("ecs", "late"), "timeouts": {"create": "1s"}})
    with pytest.raises(grpc.RpcError) as info:
        host.create("late", inputs)
    message = info.value.details()  # type: ignore[attr-defined]
    [job] = emu.admin.state()["jobs"]
    [image_id] = images(emu)
    assert "timed out after" in message and f"IMS job {job['job_id']} (image {image_id})" in message
    assert "Run `pulumi up` again with the same inputs" in message and "timeouts.create" in message

    wait_until(lambda: images(emu)[image_id]["status"] == "active", 30, "the job finishes on its own")
    rid, state = host.create("late", inputs)  # the same inputs, the same 1 s timeout
    assert rid == image_id and state["image_id"] == image_id
    assert len(create_posts(emu)) == 1 and list(images(emu)) == [image_id]
    assert claim(emu, images(emu)[image_id]) == rid
