"""Asynchronous IMS jobs whose state is a pure function of the emulator clock.

A job records when it began, how long it runs and how it will end; every read computes its phase, so the
same job can be observed at any speed (real time, scaled, or a manual clock) without worker threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

INIT_FRACTION = 0.02
FAIL_AT = 0.5
RUNNING_CAP = 0.99

TASKS: dict[str, tuple[str, ...]] = {
    "imsCreateImageByInstance": ("CreateSnapshotTask", "CreateImageTask", "UpdateImageTask"),
    "imsVolumesToSysDataImagesJob": ("CreateSnapshotTask", "CopyVolumeToImageTask", "UpdateImageTask"),
    "imsVolumeCreateImageJob": ("CreateSnapshotTask", "CopyVolumeToImageTask", "UpdateImageTask"),
    "imsImportImageJob": (
        "ImportImageTask:ObtainImageInfoTask",
        "ImportImageTask:ConvertImageTask",
        "ImportImageTask:UploadImageTask",
        "UpdateImageTask",
    ),
}


def iso_ms(ts: float) -> str:
    """Job time format: UTC ISO-8601 with milliseconds and Z."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def progress(profile: str, fraction: float) -> float:
    """Map elapsed running time (0..1) to `process_percent` under the configured profile."""
    f = min(max(fraction, 0.0), 1.0)
    if profile == "front_loaded":
        value = 1.0 - (1.0 - f) ** 3
    elif profile == "stepped":
        value = math.floor(f * 4) / 4
    else:
        value = f
    return round(min(value, RUNNING_CAP), 4)


@dataclass(frozen=True)
class JobFailure:
    error_code: str
    fail_reason: str
    sub_job: int = 0


@dataclass
class SubJob:
    job_id: str
    job_type: str
    image_id: str
    image_name: str


@dataclass
class Job:
    job_id: str
    job_type: str
    begin: float
    duration: float
    profile: str
    image_id: str | None = None
    image_name: str | None = None
    sub_jobs: list[SubJob] = field(default_factory=list)
    failure: JobFailure | None = None
    hang: bool = False
    data_image_report: str = "sub_jobs"  # how the sub-jobs' images are reported (settings.DATA_IMAGE_REPORTS)
    vm_id: str | None = None  # the ECS whose disks the job reads; None for an OBS file or a detached volume
    whole_ecs: bool = False  # an image of the ECS itself (instance_id), not only of some of its disks
    project_id: str = ""  # the project that started the job: only it can read the job
    account: str = ""  # the account that started it (IMS limits cross-region copies per account)
    results: list[dict[str, Any]] | None = None  # member jobs: `entities.results`, shown once it succeeds

    @property
    def end(self) -> float | None:
        """When the job reaches SUCCESS or FAIL; None for a job that never finishes."""
        if self.hang:
            return None
        return self.begin + self.duration * (FAIL_AT if self.failure else 1.0)

    def image_ids(self) -> list[str]:
        ids = [self.image_id] if self.image_id else []
        return ids + [s.image_id for s in self.sub_jobs]

    def running(self, now: float) -> bool:
        """INIT or RUNNING at `now`: the job has not ended (a hung job never does)."""
        return self.status(now) in ("INIT", "RUNNING")

    def status(self, now: float) -> str:
        end = self.end
        if end is not None and now >= end:
            return "FAIL" if self.failure else "SUCCESS"
        if now - self.begin < self.duration * INIT_FRACTION:
            return "INIT"
        return "RUNNING"

    def _fraction(self, now: float) -> float:
        init = self.duration * INIT_FRACTION
        span = self.duration - init
        return 1.0 if span <= 0 else (now - self.begin - init) / span

    def render(self, now: float) -> dict[str, Any]:
        """The ShowJob / ShowJobProgress body at time `now`."""
        status = self.status(now)
        end = self.end
        done = status in ("SUCCESS", "FAIL")
        failure = self.failure if status == "FAIL" else None
        entities: dict[str, Any] = {}
        if self.image_name is not None:
            entities["image_name"] = self.image_name
        if self.image_id is not None and status != "FAIL":
            entities["image_id"] = self.image_id
        if status == "RUNNING":
            tasks = TASKS.get(self.job_type, ("RunTask",))
            fraction = self._fraction(now)
            entities["current_task"] = tasks[min(int(max(fraction, 0.0) * len(tasks)), len(tasks) - 1)]
            if self.profile != "absent":
                entities["process_percent"] = progress(self.profile, fraction)
        elif status == "SUCCESS" and self.profile != "absent":
            entities["process_percent"] = 1.0
        if self.sub_jobs and self.data_image_report == "sub_jobs":
            entities["sub_jobs_result"] = [
                self._render_sub(i, s, status, failure) for i, s in enumerate(self.sub_jobs)
            ]
            entities["sub_jobs_list"] = [s.job_id for s in self.sub_jobs]
        elif self.sub_jobs and self.data_image_report == "data_images" and status == "SUCCESS":
            entities["__data_images"] = ",".join(s.image_id for s in self.sub_jobs)
        if self.results is not None and status == "SUCCESS":
            entities["results"] = [dict(r) for r in self.results]
        return {
            "status": status,
            "job_id": self.job_id,
            "job_type": self.job_type,
            "begin_time": iso_ms(self.begin),
            "end_time": iso_ms(end) if done and end is not None else None,
            "error_code": failure.error_code if failure else None,
            "fail_reason": failure.fail_reason if failure else None,
            "entities": entities,
        }

    def _render_sub(self, index: int, sub: SubJob, status: str, failure: JobFailure | None) -> dict[str, Any]:
        entities: dict[str, Any] = {"image_name": sub.image_name}
        error_code = fail_reason = None
        if failure is not None:
            failing = min(max(failure.sub_job, 0), len(self.sub_jobs) - 1)
            error_code = failure.error_code
            if index == failing:
                fail_reason = failure.fail_reason
            else:
                fail_reason = f"Cancelled because sub job {self.sub_jobs[failing].job_id} failed."
        else:
            entities["image_id"] = sub.image_id
        end = self.end
        return {
            "status": status,
            "job_id": sub.job_id,
            "job_type": sub.job_type,
            "begin_time": iso_ms(self.begin),
            "end_time": iso_ms(end) if status in ("SUCCESS", "FAIL") and end is not None else None,
            "error_code": error_code,
            "fail_reason": fail_reason,
            "entities": entities,
        }
