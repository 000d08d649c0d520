"""Recovery of interrupted and ambiguous creates, with the real client against the emulator over HTTP.

Each test plays one way a create can go wrong and asserts the outcome IMS is left with: exactly the images
the request asked for, each tracked by the returned resource and claimed by it, and no second job.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.server import EmulatorServer
from ims_provider.errors import ImsProviderError
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.model.private_image import build_body, shape_of
from ims_provider.operations import RunOptions
from ims_provider.recovery import CLAIM_TAG, find_earlier
from ims_provider.retry import NO_RETRY, RetryPolicy
from ims_provider.waiter import FakeClock
from tests.reliability.support import (
    ECS,
    FAST_RETRY,
    IMAGES_PER_KIND,
    KINDS,
    client_for,
    create_posts,
    images,
    inputs_for,
    lifecycle_for,
    processed,
    tracking,
    wait_until,
)


def assert_one_set(emu: EmulatorServer, rid: str, state: dict[str, Any], expected_images: int) -> None:
    """Exactly the request's images exist, all tracked by this resource and claimed for it."""
    report = tracking(emu, [(rid, state)])
    assert len(images(emu)) == expected_images
    assert report.untracked == [] and report.missing == [] and report.double_tracked == []
    assert report.unclaimed == []


@pytest.mark.parametrize("kind", KINDS)
def test_interrupted_run_is_adopted_not_duplicated(emu: EmulatorServer, kind: str) -> None:
    """An earlier run submitted the request and died: the re-run adopts its images, sends no second POST."""
    client = client_for(emu)
    inputs = inputs_for(kind, f"int-{kind}")
    client.create_image(build_body(inputs))  # the earlier run, killed before it recorded anything
    lines: list[str] = []
    record = lifecycle_for(client, lines).create(inputs)
    assert len(create_posts(emu)) == 1
    assert_one_set(emu, record.id, record.outputs, IMAGES_PER_KIND[kind])
    assert record.outputs["status"] == "active"
    assert any("from an earlier attempt of this request" in line for line in lines)


def test_claimed_images_are_never_adopted_so_identical_resources_get_their_own(emu: EmulatorServer) -> None:
    client = client_for(emu)
    lifecycle = lifecycle_for(client)
    inputs = inputs_for("ecs_data", "twin")
    first = lifecycle.create(inputs)
    second = lifecycle.create(inputs)
    assert first.id != second.id
    assert set(first.outputs["data_image_ids"]).isdisjoint(second.outputs["data_image_ids"])
    report = tracking(emu, [(first.id, first.outputs), (second.id, second.outputs)])
    assert len(images(emu)) == 4 and report.untracked == [] and report.unclaimed == []
    assert len(create_posts(emu)) == 2


def test_concurrent_identical_creates_in_one_process_do_not_share_an_image(emu: EmulatorServer) -> None:
    """The host runs 4 creates at once: one must not adopt the image another has just submitted."""
    client = client_for(emu)
    lifecycle = lifecycle_for(client)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(lifecycle.create(inputs_for("ecs", "same-name")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.id for r in results}) == 3
    report = tracking(emu, [(r.id, r.outputs) for r in results])
    assert len(images(emu)) == 3 and report.untracked == [] and report.unclaimed == []


def test_answer_lost_after_processing_is_adopted(emu: EmulatorServer) -> None:
    """drop_after: IMS made the job, the answer never arrived. The image is found, not made twice."""
    emu.admin.add_fault(kind="drop_after", method="POST", path="/v2/cloudimages/action")
    lines: list[str] = []
    record = lifecycle_for(client_for(emu), lines).create(inputs_for("ecs_data", "lost-answer"))
    posts = create_posts(emu)
    assert len(posts) == 1 and posts[0]["dropped"] == "after"
    assert_one_set(emu, record.id, record.outputs, 2)
    assert any("got no clear answer" in line for line in lines)


@pytest.mark.parametrize("fault", [{"kind": "drop_before"}, {"kind": "status", "status": 503}])
def test_request_that_never_made_a_job_is_sent_again_after_the_grace(
    emu: EmulatorServer, fault: dict[str, Any]
) -> None:
    """Reset before processing, or a 5xx: ambiguous for a POST. Nothing appears, so it is re-sent once."""
    emu.admin.add_fault(method="POST", path="/v2/cloudimages/action", **fault)
    record = lifecycle_for(client_for(emu), recovery_grace=0.5).create(inputs_for("ecs", "resend"))
    posts = create_posts(emu)
    assert len(posts) == 2 and [processed(p) for p in posts] == [False, True]
    assert_one_set(emu, record.id, record.outputs, 1)


def test_read_timeout_on_create_then_the_late_image_is_adopted(emu: EmulatorServer) -> None:
    """The client gives up reading after 0.3 s; IMS processes the request at 0.8 s. Not re-sent."""
    emu.admin.add_fault(kind="latency", latency=0.8, method="POST", path="/v2/cloudimages/action")
    client = client_for(emu, timeout=(5.0, 0.3))
    record = lifecycle_for(client, recovery_grace=5.0).create(inputs_for("ecs", "slow-answer"))
    assert len(create_posts(emu)) == 1
    assert_one_set(emu, record.id, record.outputs, 1)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429},
        {"status": 429, "error_code": "APIG.0308"},
        {"status": 400, "error_code": "IMG.0060"},
    ],
    ids=["APIGW.0308", "APIG.0308", "IMG.0060"],
)
def test_throttled_create_is_re_sent_honouring_retry_after(
    emu: EmulatorServer, fault: dict[str, Any]
) -> None:
    emu.admin.add_fault(
        kind="status", method="POST", path="/v2/cloudimages/action", headers={"Retry-After": "2"}, **fault
    )
    slept: list[float] = []
    client = client_for(emu, retry=RetryPolicy(), sleep=slept.append)  # record the backoff, do not sleep
    record = lifecycle_for(client).create(inputs_for("ecs", "throttled"))
    posts = create_posts(emu)
    assert [p["status"] for p in posts] == [fault["status"], 200]
    assert slept and slept[0] >= 2.0
    assert_one_set(emu, record.id, record.outputs, 1)


def test_earlier_attempt_whose_job_fails_is_replaced(emu: EmulatorServer) -> None:
    """The adopted in-flight image vanishes (its job failed): the request is submitted anew."""
    client = client_for(emu)
    inputs = inputs_for("ecs", "earlier-failed")
    emu.admin.add_fault(kind="job_fail", error_code="IMG.0061", fail_reason="disk error")
    client.create_image(build_body(inputs))
    lines: list[str] = []
    record = lifecycle_for(client, lines).create(inputs)
    posts = create_posts(emu)
    assert len(posts) == 2
    assert_one_set(emu, record.id, record.outputs, 1)
    assert any("unusable (its job failed)" in line for line in lines)


def test_incomplete_match_is_left_alone_and_made_anew(emu: EmulatorServer) -> None:
    """An unclaimed system image of the same name and ECS, but without the data image this request asks
    for: it cannot be this request's, whole, and may not be ours at all, so it is left alone (with a
    warning) and a new set is made."""
    client = client_for(emu)
    stranger = client.create_image(
        {"name": "partial", "instance_id": ECS, "image_tags": [{"key": "team", "value": "reliability"}]}
    )
    lines: list[str] = []
    record = lifecycle_for(client, lines).create(inputs_for("ecs_data", "partial"))
    assert stranger
    stranger_ids = {img["id"] for img in emu.admin.state()["images"]} - {
        record.id,
        *record.outputs["data_image_ids"],
    }
    assert len(stranger_ids) == 1  # the hand-made image survives
    assert any("left alone" in line and "could" not in line for line in lines)


def test_image_that_differs_in_an_attribute_is_not_taken_for_an_earlier_attempt(emu: EmulatorServer) -> None:
    """Same name, same ECS, but another description: made some other way, so it is not adopted. The other
    image's job still runs, so IMS refuses the ECS until it ends; only the jobs IMS started are counted."""
    client = client_for(emu)
    other = client.create_image({"name": "web-golden", "instance_id": ECS, "description": "hand made"})
    lines: list[str] = []
    record = lifecycle_for(client, lines).create(inputs_for("ecs", "web-golden"))
    assert other and sum(processed(p) for p in create_posts(emu)) == 2
    assert record.outputs["job_id"] and len(images(emu)) == 2


def test_claim_interrupted_half_way_still_adopts_the_whole_set(emu: EmulatorServer) -> None:
    """Data images are claimed first, the primary last: a data image claimed for an unclaimed primary is
    still part of that primary's set."""
    client = client_for(emu)
    inputs = inputs_for("ecs_data", "half-claimed")
    client.create_image(build_body(inputs))
    found = find_earlier(client, shape_of(inputs)).found
    assert found is not None and found.complete
    primary_id = found.primary.id
    data_id = found.extras[0].id  # type: ignore[union-attr]
    wait_until(lambda: images(emu)[data_id]["status"] == "active", 10, "the data image becomes active")
    client.tags_action(data_id, "create", [{"key": CLAIM_TAG, "value": primary_id}])
    record = lifecycle_for(client).create(inputs)
    assert record.id == primary_id and record.outputs["data_image_ids"] == [data_id]
    assert_one_set(emu, record.id, record.outputs, 2)


def test_data_image_claimed_by_another_resource_is_not_taken(emu: EmulatorServer) -> None:
    client = client_for(emu)
    lifecycle = lifecycle_for(client)
    first = lifecycle.create(inputs_for("data_only", "shared-name"))
    shape = shape_of(inputs_for("data_only", "shared-name"))
    assert find_earlier(client, shape).found is None  # claimed by tag
    second = lifecycle.create(inputs_for("data_only", "shared-name"))
    assert second.id != first.id and len(images(emu)) == 2


def test_unanswered_creates_give_up_with_a_clear_error(emu: EmulatorServer) -> None:
    emu.admin.add_fault(kind="status", status=502, method="POST", path="/v2/cloudimages/action", count=20)
    with pytest.raises(ImsProviderError) as info:
        lifecycle_for(client_for(emu), recovery_grace=0.1).create(inputs_for("ecs", "never"))
    text = str(info.value)
    assert "10 create requests" in text and "pulumi up" in text
    assert images(emu) == {}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drop_before"},
        {"kind": "drop_after"},
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 429},
    ],
    ids=["drop_before", "drop_after", "503", "429"],
)
def test_every_poll_failing_in_turn_does_not_end_the_wait(emu: EmulatorServer, fault: dict[str, Any]) -> None:
    """With client retries off, each fault reaches the waiter, which keeps polling (backing off) until the
    job is done. The emulator's job clock follows the waiter's sleeps, so the backoff costs no real time."""
    emu.admin.set_clock("manual")
    emu.admin.update_settings(job_seconds=600)
    emu.admin.add_fault(method="GET", path=r"/v1/cloudimages/job/.*", count=6, **fault)
    emu.admin.add_fault(method="GET", path=r"/v2/cloudimages", count=2, **fault)
    client = client_for(emu, retry=NO_RETRY)
    lifecycle = ImageLifecycle(
        client, RunOptions(clock=EmulatorLinkedClock(emu), write=lambda _l: None, poll_delay=5)
    )
    record = lifecycle.create({**inputs_for("ecs", "polls"), "timeouts": {"create": "1h"}})
    assert_one_set(emu, record.id, record.outputs, 1)
    polls = [e for e in emu.admin.requests(method="GET") if e["path"].startswith("/v1/cloudimages/job/")]
    assert sum(1 for e in polls if e["fault"]) == 6 and polls[-1]["status"] == 200


class EmulatorLinkedClock(FakeClock):
    """Virtual time for the waiter that also moves the emulator's manual job clock."""

    def __init__(self, emu: EmulatorServer, on_first_sleep: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.emu = emu
        self.on_first_sleep = on_first_sleep

    def sleep(self, seconds: float) -> None:
        if self.on_first_sleep is not None:
            self.on_first_sleep, hook = None, self.on_first_sleep
            hook()
        super().sleep(seconds)
        self.emu.admin.advance(seconds)


def test_data_image_registered_after_the_system_image_is_still_adopted(emu: EmulatorServer) -> None:
    """IMS may list an earlier attempt's data image only after its system image: the set is looked for
    again once the system image is active, instead of being judged incomplete at first sight."""
    emu.admin.set_clock("manual")
    emu.admin.update_settings(job_seconds=60)
    client = client_for(emu)
    inputs = inputs_for("ecs_data", "late-data")
    system_part = {k: v for k, v in build_body(inputs).items() if k != "data_images"}
    client.create_image(system_part)

    def register_data() -> None:
        """The data image's job, once the system image's has ended (IMS runs one job per ECS at a time)."""
        emu.admin.advance(60)
        client.create_image({"data_images": inputs["data_images"]})

    clock = EmulatorLinkedClock(emu, on_first_sleep=register_data)
    record = ImageLifecycle(client, RunOptions(clock=clock, write=lambda _l: None, poll_delay=1)).create(
        inputs
    )
    assert len(create_posts(emu)) == 2  # the two "earlier" requests; the create itself sent none
    assert_one_set(emu, record.id, record.outputs, 2)


@pytest.mark.parametrize(
    "fault", [{"kind": "drop_after"}, {"kind": "status", "status": 503}], ids=["drop_after", "503"]
)
def test_claim_calls_are_retried(emu: EmulatorServer, fault: dict[str, Any]) -> None:
    """PATCH (system image claim) and the tag call (data image claim) are idempotent, so they are re-sent."""
    emu.admin.add_fault(method="PATCH", path=r"/v2/cloudimages/.*", count=2, **fault)
    emu.admin.add_fault(method="POST", path=r"/v2/.*/tags/action", count=2, **fault)
    record = lifecycle_for(client_for(emu)).create(inputs_for("ecs_data", "claim-retry"))
    assert_one_set(emu, record.id, record.outputs, 2)
    assert sum(1 for e in emu.admin.requests(method="PATCH") if e["fault"]) == 2


def test_create_refused_at_connect_is_re_sent_and_makes_one_job() -> None:
    """Connection refused proves the POST never reached IMS: the client sends it again by itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emu = EmulatorServer(port=port, job_seconds=0.2)
    slept: list[float] = []

    def start_ims_on_first_backoff(seconds: float) -> None:
        slept.append(seconds)
        emu.start()

    try:
        raw = {
            "ims:endpoint": f"http://127.0.0.1:{port}",
            "ims:region": emu.region,
            "ims:projectId": emu.project_id,  # no IAM look-up first: the POST is the first request
            "ims:accessKey": emu.access_key,
            "ims:secretKey": emu.secret_key,
        }
        client = ImsClient(load_config(raw.get, {}), retry=FAST_RETRY, sleep=start_ims_on_first_backoff)
        job_id = client.create_image(build_body(inputs_for("ecs", "refused")))
        posts = create_posts(emu)
        assert len(slept) == 1 and len(posts) == 1 and posts[0]["status"] == 200
        assert [j["job_id"] for j in emu.admin.state()["jobs"]] == [job_id]
    finally:
        emu.stop()
