"""Detection lag and polls per job in virtual time, through the real HTTP client and the emulator.

The emulator's job clock is manual: :class:`EmulatorClock` is the waiter's clock, and its ``sleep``
advances the emulator through the admin API, so a 30-minute job is polled exactly as in real life (signed
requests, real bodies, the real client) in a fraction of a second. Each job's true end comes from the
emulator's own job record, and the polls are counted in its request log, not by the waiter.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator import EmulatorServer
from ims_provider.emulator.admin import AdminClient
from ims_provider.emulator.fixtures import SEED_ECS_ID
from ims_provider.jobs import FIXED_5S_SCHEDULE, JOB_DONE, TERRAFORM_SCHEDULE
from ims_provider.waiter import PollEvent, WaitSpec, wait

SCHEDULES: dict[str, WaitSpec[dict[str, Any]]] = {
    "ours": JOB_DONE,
    "terraform": JOB_DONE.with_schedule(TERRAFORM_SCHEDULE),
    "fixed_5s": JOB_DONE.with_schedule(FIXED_5S_SCHEDULE),
}
PROFILES = ("linear", "front_loaded", "stepped", "absent")
DURATIONS_MIN: tuple[float, ...] = (0.5, 1, 3, 7, 15, 30)
JITTER = 0.10  # each seed's job runs the nominal duration +-10%
MAX_AGE = 2.0  # the wait starts up to this long after IMS began the job (the POST's answer, the provider)
TIMEOUT = 4 * 3600.0


class EmulatorClock:
    """A :class:`ims_provider.waiter.Clock` whose time is the emulator's manual job clock.

    ``monotonic`` is kept locally (no request); ``sleep`` moves the emulator forward by exactly that much.
    """

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin
        self._now = float(admin.clock()["now"])

    def monotonic(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"sleep length must be non-negative, got {seconds}")
        if seconds > 0:
            self._now = float(self._admin.advance(seconds)["now"])


@dataclass(frozen=True)
class JobRun:
    """One job polled by one schedule."""

    schedule: str
    profile: str
    minutes: float
    seed: int
    seconds: float  # the job's real length
    lag: float  # first poll that saw SUCCESS minus the job's end
    polls: int  # GET job requests the emulator logged for this job


def job_shape(minutes: float, profile: str, seed: int) -> tuple[float, float]:
    """(job length, age of the job when the wait starts): the same job for every schedule of a seed."""
    rng = random.Random(f"{minutes}/{profile}/{seed}")
    return minutes * 60 * rng.uniform(1 - JITTER, 1 + JITTER), rng.uniform(0.0, MAX_AGE)


class VirtualBench:
    """One manual-clock emulator and one real client; runs jobs one after another."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self.admin = emulator.admin
        self.admin.set_clock("manual")
        config = load_config(
            {
                "ims:endpoint": emulator.url,
                "ims:region": emulator.region,
                "ims:projectId": emulator.project_id,
                "ims:accessKey": emulator.access_key,
                "ims:secretKey": emulator.secret_key,
            }.get,
            environ={},
        )
        self.client = ImsClient(config)

    def run(self, schedule: str, minutes: float, profile: str, seed: int) -> JobRun:
        seconds, age = job_shape(minutes, profile, seed)
        self.admin.update_settings(job_seconds=seconds, progress_profile=profile)
        self.admin.clear_requests()
        job_id = self.client.create_image({"name": f"bench-{schedule}-{seed}", "instance_id": SEED_ECS_ID})
        job = self.emulator.backend.jobs[job_id]  # white-box: the emulator's own record of the job
        clock = EmulatorClock(self.admin)
        clock.sleep(age)
        events: list[PollEvent[dict[str, Any]]] = []
        body = wait(
            SCHEDULES[schedule],
            lambda: self.client.get_job(job_id),
            timeout=TIMEOUT,
            clock=clock,
            observer=events.append,
        )
        end = job.end
        if body.get("status") != "SUCCESS" or end is None:
            raise RuntimeError(f"job {job_id} ended {body.get('status')}: {body}")
        polls = sum(1 for r in self.admin.requests(method="GET") if r["path"].endswith(job_id))
        if polls != len(events):
            raise RuntimeError(f"the emulator saw {polls} polls of job {job_id}, the waiter {len(events)}")
        return JobRun(schedule, profile, minutes, seed, seconds, clock.monotonic() - end, polls)

    def run_group(self, profile: str, minutes: float, seeds: Iterable[int]) -> list[JobRun]:
        """Every schedule on the same jobs; the emulator is reset first so images never pile up."""
        self.admin.reset()
        self.admin.set_clock("manual")
        return [self.run(s, minutes, profile, seed) for seed in seeds for s in SCHEDULES]


def _group(task: tuple[str, float, tuple[int, ...]]) -> list[JobRun]:
    profile, minutes, seeds = task
    with EmulatorServer(clock_mode="manual", image_quota=10_000) as emulator:
        return VirtualBench(emulator).run_group(profile, minutes, seeds)


def run_all(
    profiles: Sequence[str], durations: Sequence[float], seeds: Sequence[int], workers: int = 1
) -> list[JobRun]:
    """All (profile, duration) groups; ``workers`` processes, each with its own emulator and clock."""
    tasks = [(p, m, tuple(seeds)) for p in profiles for m in sorted(durations, reverse=True)]
    if workers <= 1:
        return [run for task in tasks for run in _group(task)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [run for runs in pool.map(_group, tasks) for run in runs]
