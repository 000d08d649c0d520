"""Synthetic IMS jobs in virtual time, shared by the waiter, eta and jobs tests.

Synthetic jobs follow the emulator's model: INIT for the first 2% of the duration, then RUNNING with
``process_percent`` given by a profile of the running share (rounded to 4 decimals and held at 0.99 at most
until the end), then SUCCESS. The job was submitted a little before the wait starts and its length varies
around the nominal duration, so poll grids meet it at random phases. Detection lag = time of the first
poll that sees SUCCESS minus the true end.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from ims_provider.jobs import FIXED_5S_SCHEDULE, JOB_DONE, TERRAFORM_SCHEDULE
from ims_provider.waiter import FakeClock, PollEvent, WaitSpec, wait

Profile = Callable[[float], float] | None

PROFILES: dict[str, Profile] = {
    "linear": lambda x: x,
    "front_loaded": lambda x: 1 - (1 - x) ** 3,  # the emulator's ease-out
    "front_loaded_sqrt": math.sqrt,
    "stepped": lambda x: math.floor(4 * x) / 4,
    "absent": None,
}
WITH_PROGRESS = ("linear", "front_loaded", "front_loaded_sqrt", "stepped")
DURATIONS_MIN = (1, 3, 7, 15, 30)
SEEDS = range(12)
INIT_SHARE = 0.02
RUNNING_CAP = 0.99


def synthetic_job(
    clock: FakeClock,
    duration: float,
    profile: Profile,
    *,
    age_at_start: float = 0.0,
    fail: bool = False,
) -> Callable[[], dict[str, Any]]:
    """``fetch`` for a job that ends ``duration - age_at_start`` seconds after the clock's current time."""
    t0 = clock.now - age_at_start

    def fetch() -> dict[str, Any]:
        age = clock.now - t0
        base: dict[str, Any] = {"job_id": "j-1", "job_type": "imsCreateImageByInstance"}
        if age >= duration:
            if fail:
                return {
                    **base,
                    "status": "FAIL",
                    "error_code": "IMG.0999",
                    "fail_reason": "boom",
                    "entities": {},
                }
            return {**base, "status": "SUCCESS", "entities": {"image_id": "3f71", "process_percent": 1.0}}
        if age < INIT_SHARE * duration:
            return {**base, "status": "INIT", "entities": {}}
        entities: dict[str, Any] = {"current_task": "CreateImageTask"}
        if profile is not None:
            running = (age - INIT_SHARE * duration) / ((1 - INIT_SHARE) * duration)
            entities["process_percent"] = round(min(profile(running), RUNNING_CAP), 4)
        return {**base, "status": "RUNNING", "entities": entities}

    return fetch


def run_job(spec: WaitSpec[dict[str, Any]], duration: float, profile: str, seed: int) -> tuple[float, int]:
    """(detection lag, polls) of one synthetic job with a random start phase."""
    rng = random.Random(seed)
    age_at_start = rng.uniform(0.0, 3.0)
    length = duration * rng.uniform(0.9, 1.1)
    clock = FakeClock(1000.0)
    start = clock.now
    fetch = synthetic_job(clock, length, PROFILES[profile], age_at_start=age_at_start)
    events: list[PollEvent[dict[str, Any]]] = []
    body = wait(spec, fetch, timeout=4 * 3600, clock=clock, observer=events.append)
    assert body["status"] == "SUCCESS"
    return clock.now - start - (length - age_at_start), len(events)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


OURS = JOB_DONE
TERRAFORM = JOB_DONE.with_schedule(TERRAFORM_SCHEDULE)
FIXED_5S = JOB_DONE.with_schedule(FIXED_5S_SCHEDULE)


def measure(spec: WaitSpec[dict[str, Any]], minutes: float, profile: str) -> tuple[list[float], list[int]]:
    runs = [run_job(spec, minutes * 60, profile, seed) for seed in SEEDS]
    return [lag for lag, _ in runs], [polls for _, polls in runs]
