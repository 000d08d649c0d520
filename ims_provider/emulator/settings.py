"""Emulator settings that tests change at run time through PUT /_emulator/settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ims_provider.emulator.members import MAX_MEMBERS

PROGRESS_PROFILES = ("linear", "front_loaded", "stepped", "absent")
# Where an ECS job with data images reports the data images' IDs: the shape is not confirmed by Huawei, so
# each known reading is available: sub-job results (as for data-images-only jobs), the older
# `entities.__data_images` string (comma-separated IDs), or nowhere (only the system image's ID).
DATA_IMAGE_REPORTS = ("sub_jobs", "data_images", "none")
# Whether a copy takes its source's tags and custom attributes: IMS does not say (ims-api-more.md §11), so
# the emulator's inferred default ("none": it takes neither) and the other reading ("source's") are both here.
COPY_MARKS = ("none", "source's")


@dataclass(frozen=True)
class Identity:
    """The default account's identity: its AK/SK, its domain, its project in the home region."""

    access_key: str = "EMULATORACCESSKEY"
    secret_key: str = "EMULATORSECRETKEY"  # noqa: S105 - the documented emulator default, not a secret
    project_id: str = "0605767c6a80d5c72f1dc0193fbee5a2"
    region: str = "cn-north-4"
    domain_id: str = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


@dataclass(frozen=True)
class Settings:
    job_seconds: float = 5.0
    progress_profile: str = "linear"
    data_image_report: str = "sub_jobs"
    image_quota: int = 100
    activation_seconds: float = 0.0
    delete_seconds: float = 0.0
    auth_token: str | None = None  # the default account's token
    member_job_seconds: float = 1.0  # how long a member job (add, accept/reject, remove) runs
    member_quota: int = MAX_MEMBERS  # members per system or data disk image (a full-ECS image: at most 10)
    copy_marks: str = "none"  # what a copy takes of its source's tags and custom attributes (COPY_MARKS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> Settings:
        """A copy with `changes` applied; ValueError on an unknown key or a bad value."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}")
        new = replace(self, **dict(changes))
        for name in ("job_seconds", "activation_seconds", "delete_seconds", "member_job_seconds"):
            value = getattr(new, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
                raise ValueError(f"{name} must be a non-negative number")
        if new.progress_profile not in PROGRESS_PROFILES:
            raise ValueError(f"progress_profile must be one of {', '.join(PROGRESS_PROFILES)}")
        if new.data_image_report not in DATA_IMAGE_REPORTS:
            raise ValueError(f"data_image_report must be one of {', '.join(DATA_IMAGE_REPORTS)}")
        if new.copy_marks not in COPY_MARKS:
            raise ValueError(f"copy_marks must be one of {', '.join(COPY_MARKS)}")
        for name in ("image_quota", "member_quota"):
            value = getattr(new, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if new.auth_token is not None and (not isinstance(new.auth_token, str) or not new.auth_token):
            raise ValueError("auth_token must be a non-empty string or null")
        return new
