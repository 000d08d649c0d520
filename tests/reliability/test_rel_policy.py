"""Each class of failure gets its one policy: IMS's own errors are bounded, a busy source is waited for, a job
IMS does not know yet is waited for a while, and creates of one source in one host take turns."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from ims_provider.emulator.server import EmulatorServer
from ims_provider.errors import ImsApiError, JobNotFoundError
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.operations import RunOptions
from ims_provider.retry import POLICY, ErrorClass, RetryPolicy
from ims_provider.waiter import FakeClock
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost
from tests.reliability.conftest import HOST_EXTRA
from tests.reliability.support import (
    CREATE_PATH,
    attempt,
    client_for,
    create_posts,
    images,
    inputs_for,
    wait_until,
)

JOB_PATHS = r"/v1/(cloudimages/job|[^/]+/jobs)/.*"


class ScaledClock(FakeClock):
    """Virtual time that also lets a little real time pass (a thousandth of each sleep), so that the
    emulator's real-time jobs move on while the provider's minutes of backoff pass in an instant."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        time.sleep(seconds / 1000)


def _virtual(emu: EmulatorServer, lines: list[str]) -> tuple[ImageLifecycle, FakeClock]:
    """A lifecycle whose every sleep (the client's backoff too) passes in (mostly) virtual time."""
    clock = ScaledClock()
    ims = client_for(emu, retry=RetryPolicy(), sleep=clock.sleep)
    return ImageLifecycle(
        ims, RunOptions(clock=clock, write=lines.append, poll_delay=0.1, recovery_grace=1.0)
    ), clock


def test_an_ims_error_that_will_not_pass_ends_the_create_within_its_bound(emu: EmulatorServer) -> None:
    emu.admin.add_fault(kind="status", status=500, method="POST", path=CREATE_PATH, count=100)
    lines: list[str] = []
    lifecycle, clock = _virtual(emu, lines)
    with pytest.raises(ImsApiError) as info:
        lifecycle.create(inputs_for("ecs", "doomed"))
    handling = POLICY[ErrorClass.IMS_FAULT]
    assert len(create_posts(emu)) == handling.attempts
    assert handling.budget is not None and clock.monotonic() <= handling.budget
    text = str(info.value)
    assert info.value.code == "IMG.0061" and "HTTP 500 IMG.0061" in text
    assert "IMS's own error" in text and "no image of this request was made" in text
    assert images(emu) == {}


def test_a_busy_source_is_waited_for_and_submitted_again(emu: EmulatorServer) -> None:
    """Another stack (or the console) images the ECS: IMS says IMG.0010 until its job ends."""
    emu.admin.add_fault(
        kind="status", status=400, error_code="IMG.0010", method="POST", path=CREATE_PATH, count=3
    )
    lines: list[str] = []
    lifecycle, clock = _virtual(emu, lines)
    record = lifecycle.create(inputs_for("ecs", "patient"))
    posts = create_posts(emu)
    assert [p["status"] for p in posts] == [400, 400, 400, 200]
    assert list(images(emu)) == [record.id]
    assert sum("IMS is making another image of ECS" in line for line in lines) == 3
    assert clock.monotonic() >= 5.0 + 7.5 + 11.25  # the backoff between the submits


def test_a_job_ims_lists_late_is_waited_through(emu: EmulatorServer) -> None:
    emu.admin.add_fault(
        kind="status", status=404, error_code="IMG.0086", method="GET", path=JOB_PATHS, count=4
    )
    lines: list[str] = []
    client = client_for(emu)
    lifecycle = ImageLifecycle(client, RunOptions(write=lines.append, poll_delay=0.05, recovery_grace=30.0))
    record = lifecycle.create(inputs_for("ecs", "late-job"))
    assert record.outputs["status"] == "active" and len(create_posts(emu)) == 1


def test_a_job_ims_never_lists_fails_with_the_rerun_hint_and_the_rerun_adopts(emu: EmulatorServer) -> None:
    fault = emu.admin.add_fault(
        kind="status", status=404, error_code="IMG.0086", method="GET", path=JOB_PATHS, count=10_000
    )
    client = client_for(emu)
    lifecycle = ImageLifecycle(
        client, RunOptions(write=lambda _line: None, poll_delay=0.05, recovery_grace=1.0)
    )
    inputs = inputs_for("ecs", "lost-job")
    with pytest.raises(JobNotFoundError) as info:
        lifecycle.create(inputs)
    [job] = emu.admin.state()["jobs"]
    text = str(info.value)
    assert job["job_id"] in text and "may still make the image" in text and "`pulumi up` again" in text
    emu.admin.delete_fault(fault)
    record = lifecycle.create(inputs)  # the re-run: finds and adopts the image of that job
    assert len(create_posts(emu)) == 1 and list(images(emu)) == [record.id]


def test_creates_of_one_ecs_in_one_host_take_turns_and_say_whose_image_they_wait_for(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    emu.admin.update_settings(job_seconds=2.0)
    first = host.checked("first", inputs_for("ecs", "first"))
    second = host.checked("second", {**inputs_for("ecs", "second"), "description": "another"})
    outcome: list[Any] = []
    call = threading.Thread(target=lambda: outcome.append(attempt(host.create, "first", first)))
    call.start()
    wait_until(lambda: len(create_posts(emu)) == 1, 30, "the first create is submitted")
    rid, _ = host.create("second", second)
    call.join(timeout=60)
    assert not isinstance(outcome[0], grpc.RpcError)
    assert host.line_with(
        "second", "waiting for first's image of ECS", "one image of an ECS or disk at a time"
    )
    jobs = sorted(emu.admin.state()["jobs"], key=lambda j: j["begin_time"])
    assert len(jobs) == 2 and jobs[0]["end_time"] <= jobs[1]["begin_time"]  # one after the other
    assert len(images(emu)) == 2 and rid in images(emu)


def _one_job_per_ecs_at_a_time(emu: EmulatorServer) -> list[dict[str, Any]]:
    """The jobs IMS ran, in order, after asserting that no two overlapped (they all image one ECS)."""
    jobs = sorted(emu.admin.state()["jobs"], key=lambda j: j["begin_time"])
    for earlier, later in itertools.pairwise(jobs):
        assert earlier["end_time"] is not None and earlier["end_time"] <= later["begin_time"], jobs
    return jobs


def test_a_system_image_and_a_data_disk_image_of_one_ecs_in_one_stack(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    """Two resources, one server: the system image and an image of its data disk, created at once. The
    host cannot know the disk belongs to the ECS, so IMS's IMG.0010 is what makes the second wait."""
    emu.admin.update_settings(job_seconds=2.0)
    system = host.checked("sys", inputs_for("ecs", "sys"))
    data = host.checked("data", inputs_for("data_only", "data"))
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda args: host.create(*args), [("sys", system), ("data", data)]))
    jobs = _one_job_per_ecs_at_a_time(emu)
    assert len(jobs) == 2 and len(images(emu)) == 2
    assert {rid for rid, _ in made} == set(images(emu))
    refused = [p for p in create_posts(emu) if p["status"] == 400]
    assert refused and all(p["fault"] is None for p in refused)  # IMS's own refusal, not an injected one


def test_two_stacks_imaging_one_ecs_at_once_both_succeed(emu: EmulatorServer) -> None:
    """Two hosts (two stacks), no lock in common: IMS's refusal is waited through on each side."""
    emu.admin.update_settings(job_seconds=2.0)
    config = stack_config(emu.url, **HOST_EXTRA)
    with DynamicProviderHost(config) as left, DynamicProviderHost(config) as right:
        jobs = [(left, "left", left.checked("left", inputs_for("ecs", "left"))),
                (right, "right", right.checked("right", inputs_for("ecs", "right")))]  # fmt: skip
        with ThreadPoolExecutor(2) as pool:
            made = list(pool.map(lambda job: job[0].create(job[1], job[2]), jobs))
    assert len(_one_job_per_ecs_at_a_time(emu)) == 2
    assert {rid for rid, _ in made} == set(images(emu)) and len(images(emu)) == 2
    assert sum(p["status"] == 200 for p in create_posts(emu)) == 2  # every image made once
