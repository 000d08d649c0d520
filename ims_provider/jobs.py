"""What IMS jobs and images look like to a waiter: the ready-made specs and their schedules.

IMS answers a create with a job; the job reports its status, a progress fraction (or a percentage, in some
regions) and the images it made, and each image has a status of its own. This module reads those bodies:
:data:`JOB_DONE`, :data:`IMAGE_ACTIVE` and :data:`IMAGE_GONE` are the specs :func:`ims_provider.waiter.wait`
runs, and :func:`job_image_ids` / :func:`failed_sub_jobs` read what a finished job says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ims_provider.eta import PREDICTIVE_SCHEDULE, PollSchedule
from ims_provider.model.live import status_of
from ims_provider.waiter import Outcome, Progress, WaitSpec

__all__ = [
    "FIXED_5S_SCHEDULE",
    "IMAGE_ACTIVE",
    "IMAGE_ACTIVE_SCHEDULE",
    "IMAGE_GONE",
    "IMAGE_GONE_SCHEDULE",
    "JOB_DONE",
    "TERRAFORM_SCHEDULE",
    "failed_sub_jobs",
    "job_image_ids",
    "job_progress",
    "normalize_fraction",
]

# --- schedules ------------------------------------------------------------------------------------------

# Jobs get PREDICTIVE_SCHEDULE (ims_provider.eta); the first two below are the baselines it is measured
# against (benchmarks, tests).

# Terraform's huaweicloud provider: first poll after 10 s, then every 10 s, progress ignored.
TERRAFORM_SCHEDULE = PollSchedule(
    initial_delay=10.0, fallback_start=10.0, fallback_factor=1.0, fallback_cap=10.0, predictive=False
)
# The naive alternative: poll every 5 s.
FIXED_5S_SCHEDULE = PollSchedule(
    initial_delay=5.0, fallback_start=5.0, fallback_factor=1.0, fallback_cap=5.0, predictive=False
)

# After the job succeeded the image is normally active already or within seconds: poll quickly, then back off.
IMAGE_ACTIVE_SCHEDULE = PollSchedule(
    initial_delay=0.0,
    min_interval=1.0,
    max_interval=5.0,
    fallback_start=1.0,
    fallback_factor=1.5,
    fallback_cap=5.0,
    predictive=False,
)
# Deleting is quick; Terraform waits 10 s between checks, 1 s then every 2.5 s finishes a destroy sooner.
IMAGE_GONE_SCHEDULE = PollSchedule(
    initial_delay=1.0,
    min_interval=1.0,
    max_interval=2.5,
    fallback_start=2.5,
    fallback_factor=1.0,
    fallback_cap=2.5,
    predictive=False,
)


# --- IMS jobs -------------------------------------------------------------------------------------------


def normalize_fraction(raw: object) -> float | None:
    """IMS ``process_percent`` as a fraction in [0, 1].

    The API documents a fraction (0.24) but some regions send a percentage (24); any value above 1 can only
    be a percentage. Non-numbers and NaN mean "not reported".
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.strip().rstrip("%"))
        except ValueError:
            return None
    if not isinstance(raw, (int, float)) or math.isnan(raw) or math.isinf(raw):
        return None
    value = float(raw)
    if value > 1:
        value /= 100.0
    return min(max(value, 0.0), 1.0)


_JOB_PENDING = {"INIT", "RUNNING"}
_JOB_FAILED = ("FAIL", "FAILED")


def _job_status(body: Mapping[str, Any]) -> str:
    status = body.get("status")
    return status.strip().upper() if isinstance(status, str) else ""


def _classify_job(body: Mapping[str, Any]) -> Outcome:
    status = _job_status(body)
    if status == "SUCCESS":
        return Outcome.SUCCESS
    if status in _JOB_FAILED:
        return Outcome.FAILURE
    # INIT, RUNNING, an unknown new status or none at all: IMS will settle it; a missing status is counted
    # (see _job_anomaly) and reported if the wait times out rather than failing a create on one odd answer.
    return Outcome.PENDING


def _job_anomaly(body: Mapping[str, Any]) -> str | None:
    status = _job_status(body)
    if not status:
        return "the job had no status"
    if status not in _JOB_PENDING:
        return f"the job had the unknown status {status!r}"
    return None


def _entities(body: Mapping[str, Any]) -> Mapping[str, Any]:
    entities = body.get("entities")
    return entities if isinstance(entities, Mapping) else {}


def _sub_job_fraction(sub: Mapping[str, Any]) -> float | None:
    status = _job_status(sub)
    if status in ("SUCCESS", "FAIL", "FAILED"):
        return 1.0
    fraction = normalize_fraction(_entities(sub).get("process_percent"))
    if fraction is None and status == "INIT":
        return 0.0
    return fraction


def job_progress(body: Mapping[str, Any]) -> Progress:
    """Progress of an IMS job body: ``entities.process_percent``, else the mean over its sub-jobs."""
    entities = _entities(body)
    fraction = normalize_fraction(entities.get("process_percent"))
    task = entities.get("current_task")
    phase = task if isinstance(task, str) and task else None
    subs = entities.get("sub_jobs_result")
    if fraction is None and isinstance(subs, Sequence) and not isinstance(subs, str):
        known = [f for f in (_sub_job_fraction(s) for s in subs if isinstance(s, Mapping)) if f is not None]
        if known:
            fraction = sum(known) / len(subs)
    job_type = body.get("job_type")
    return Progress(
        fraction=fraction,
        phase=phase,
        state=_job_status(body) or None,
        subject=job_type if isinstance(job_type, str) and job_type else None,
    )


JOB_DONE: WaitSpec[dict[str, Any]] = WaitSpec(
    name="IMS job",
    classify=_classify_job,
    progress=job_progress,
    schedule=PREDICTIVE_SCHEDULE,
    anomaly=_job_anomaly,
)


def job_image_ids(job: Mapping[str, Any]) -> list[str]:
    """Image IDs a job reports: top-level ``entities.image_id`` first, then each sub-job's in order, then
    ``entities.__data_images`` (where older IMS versions put the data images of an ECS job: a string of
    comma-separated IDs, or a list of IDs or of objects with ``image_id``)."""
    entities = _entities(job)
    found = [entities.get("image_id")]
    subs = [sub for sub in _sequence(entities.get("sub_jobs_result")) if isinstance(sub, Mapping)]
    found += [_entities(sub).get("image_id") for sub in subs]
    legacy = entities.get("__data_images")
    if isinstance(legacy, str):
        found += legacy.split(",")
    for item in _sequence(legacy):
        found.append(item.get("image_id") or item.get("id") if isinstance(item, Mapping) else item)
    ids: list[str] = []
    for image_id in found:
        text = str(image_id).strip() if isinstance(image_id, str) else ""
        if text and text not in ids:
            ids.append(text)
    return ids


def _sequence(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def failed_sub_jobs(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sub-jobs that ended in FAIL (IMS does not promise the parent then fails too)."""
    subs = _entities(job).get("sub_jobs_result") or []
    return [dict(sub) for sub in subs if isinstance(sub, Mapping) and _job_status(sub) in _JOB_FAILED]


# --- images ---------------------------------------------------------------------------------------------


def _classify_image_active(image: dict[str, Any] | None) -> Outcome:
    status = status_of(image)
    if status == "active":
        return Outcome.SUCCESS
    if image is None or status in ("killed", "deleted"):
        return Outcome.FAILURE
    return Outcome.PENDING


def _classify_image_gone(image: dict[str, Any] | None) -> Outcome:
    return Outcome.SUCCESS if image is None or status_of(image) == "deleted" else Outcome.PENDING


def _image_progress(image: dict[str, Any] | None) -> Progress | None:
    if image is None:
        return None
    image_id = image.get("id")
    return Progress(state=status_of(image) or None, subject=f"image {image_id}" if image_id else "image")


def _image_anomaly(image: dict[str, Any] | None) -> str | None:
    status = status_of(image)
    if status in ("queued", "saving", "active", "killed", "deleted"):
        return None
    return f"the image had the unknown status {status!r}" if status else "the image had no status"


IMAGE_ACTIVE: WaitSpec[dict[str, Any] | None] = WaitSpec(
    name="image to become active",
    classify=_classify_image_active,
    progress=_image_progress,
    schedule=IMAGE_ACTIVE_SCHEDULE,
    anomaly=_image_anomaly,
)

IMAGE_GONE: WaitSpec[dict[str, Any] | None] = WaitSpec(
    name="image deletion",
    classify=_classify_image_gone,
    progress=_image_progress,
    schedule=IMAGE_GONE_SCHEDULE,
)
