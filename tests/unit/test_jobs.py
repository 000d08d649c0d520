"""The IMS specs: how job and image bodies are classified and read, and the image and baseline schedules."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable
from typing import Any

import pytest

from ims_provider.errors import WaitTimeoutError
from ims_provider.jobs import IMAGE_ACTIVE, IMAGE_GONE, JOB_DONE, job_progress, normalize_fraction
from ims_provider.waiter import FakeClock, Outcome, Progress, WaitSpec, wait
from tests.unit.synthetic_jobs import FIXED_5S, PROFILES, TERRAFORM, synthetic_job


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"status": "SUCCESS"}, Outcome.SUCCESS),
        ({"status": "FAIL"}, Outcome.FAILURE),
        ({"status": "INIT"}, Outcome.PENDING),
        ({"status": "RUNNING"}, Outcome.PENDING),
        ({"status": "SOMETHING_NEW"}, Outcome.PENDING),
        ({"status": ""}, Outcome.PENDING),
        ({}, Outcome.PENDING),
        ({"status": None}, Outcome.PENDING),
    ],
)
def test_job_classification(body: dict[str, Any], outcome: Outcome) -> None:
    assert JOB_DONE.classify(body) is outcome


@pytest.mark.parametrize(
    ("raw", "fraction"),
    [(0.24, 0.24), (24, 0.24), (100, 1.0), (1, 1.0), (0, 0.0), ("0.5", 0.5), ("42%", 0.42), (-3, 0.0)],
)
def test_normalize_fraction(raw: object, fraction: float) -> None:
    assert normalize_fraction(raw) == pytest.approx(fraction)


@pytest.mark.parametrize("raw", [None, True, "soon", math.nan, math.inf, [0.5]])
def test_normalize_fraction_ignores_non_numbers(raw: object) -> None:
    assert normalize_fraction(raw) is None


def test_job_progress_prefers_the_top_level_percent() -> None:
    body = {
        "status": "RUNNING",
        "job_type": "imsCreateImageByInstance",
        "entities": {"process_percent": 42, "current_task": "CreateImageTask", "sub_jobs_result": []},
    }
    assert job_progress(body) == Progress(0.42, "CreateImageTask", "RUNNING", "imsCreateImageByInstance")


def test_job_progress_averages_sub_jobs_when_the_top_level_has_none() -> None:
    subs = [
        {"status": "SUCCESS", "entities": {}},
        {"status": "RUNNING", "entities": {"process_percent": 0.5}},
        {"status": "INIT", "entities": {}},
        {"status": "RUNNING", "entities": {}},  # unknown: counts as no progress yet
    ]
    body = {"status": "RUNNING", "entities": {"sub_jobs_result": subs}}
    assert job_progress(body).fraction == pytest.approx((1.0 + 0.5 + 0.0) / 4)


def test_job_progress_without_any_percent() -> None:
    assert job_progress({"status": "INIT"}) == Progress(None, None, "INIT", None)
    assert job_progress({"status": "RUNNING", "entities": "junk"}).fraction is None


@pytest.mark.parametrize(
    ("image", "outcome"),
    [
        ({"id": "i", "status": "active"}, Outcome.SUCCESS),
        ({"id": "i", "status": "queued"}, Outcome.PENDING),
        ({"id": "i", "status": "saving"}, Outcome.PENDING),
        ({"id": "i", "status": "killed"}, Outcome.FAILURE),
        ({"id": "i", "status": "deleted"}, Outcome.FAILURE),
        (None, Outcome.FAILURE),
    ],
)
def test_image_active_classification(image: dict[str, Any] | None, outcome: Outcome) -> None:
    assert IMAGE_ACTIVE.classify(image) is outcome


@pytest.mark.parametrize(
    ("image", "outcome"),
    [
        (None, Outcome.SUCCESS),
        ({"id": "i", "status": "deleted"}, Outcome.SUCCESS),
        ({"id": "i", "status": "active"}, Outcome.PENDING),
        ({"id": "i", "status": "killed"}, Outcome.PENDING),
    ],
)
def test_image_gone_classification(image: dict[str, Any] | None, outcome: Outcome) -> None:
    assert IMAGE_GONE.classify(image) is outcome


def poll_times(
    spec: WaitSpec[Any], fetch: Callable[[], Any], clock: FakeClock, timeout: float
) -> list[float]:
    times: list[float] = []
    start = clock.now

    def observed() -> Any:
        times.append(round(clock.now - start, 6))
        return fetch()

    with contextlib.suppress(WaitTimeoutError):
        wait(spec, observed, timeout=timeout, clock=clock)
    return times


def test_image_active_polls_at_once_then_backs_off_to_5s() -> None:
    clock = FakeClock()
    times = poll_times(IMAGE_ACTIVE, lambda: {"id": "i", "status": "saving"}, clock, 30)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == 0
    assert gaps[:4] == pytest.approx([1.0, 1.5, 2.25, 3.375])
    assert max(gaps) == pytest.approx(5.0)


def test_image_gone_polls_after_1s_then_every_2_5s() -> None:
    clock = FakeClock()
    times = poll_times(IMAGE_GONE, lambda: {"id": "i", "status": "active"}, clock, 11)
    assert times == pytest.approx([1.0, 3.5, 6.0, 8.5, 11.0])


def test_terraform_and_fixed_schedules_ignore_progress() -> None:
    for spec, expected in ((TERRAFORM, [10.0, 20.0, 30.0, 40.0]), (FIXED_5S, [5.0, 10.0, 15.0, 20.0])):
        clock = FakeClock()
        job = synthetic_job(clock, 3600, PROFILES["linear"])
        assert poll_times(spec, job, clock, 40 if spec is TERRAFORM else 20) == expected
