"""A failed job (or sub-job) raises an error naming the job, its error_code and fail_reason, and leaves no
image behind: the emulator removes a failed job's images itself, real IMS may not, so the cleanup is also
tested against a scripted IMS that keeps them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import grpc
import pytest

from ims_provider.emulator.server import EmulatorServer
from ims_provider.errors import ImsApiError, JobFailedError
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.operations import RunOptions
from ims_provider.waiter import FakeClock
from tests.engine.host import DynamicProviderHost
from tests.reliability.support import ECS, client_for, images, inputs_for, lifecycle_for

MULTIDISK_ECS = "d2c4e6f8-0a1b-4c3d-9e5f-6a7b8c9d0e1f"
MULTIDISK_VOLUMES = ("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e")


def test_failed_job_raises_with_id_code_reason_and_leaves_nothing(emu: EmulatorServer) -> None:
    emu.admin.add_fault(kind="job_fail", error_code="IMG.0057", fail_reason="the image file is corrupt")
    with pytest.raises(JobFailedError) as info:
        lifecycle_for(client_for(emu)).create(inputs_for("ecs", "fails"))
    err = info.value
    job_id = emu.admin.state()["jobs"][0]["job_id"]
    assert (err.job_id, err.error_code, err.fail_reason) == (job_id, "IMG.0057", "the image file is corrupt")
    assert job_id in str(err) and "IMG.0057" in str(err) and "the image file is corrupt" in str(err)
    assert images(emu) == {}


def test_failed_sub_job_is_reported_with_its_own_code_and_reason(emu: EmulatorServer) -> None:
    emu.admin.add_fault(kind="job_fail", error_code="IMG.0120", fail_reason="disk detached", sub_job=1)
    inputs = {
        "name": "multi",
        "instance_id": MULTIDISK_ECS,
        "data_images": [{"name": f"multi-d{i}", "volume_id": v} for i, v in enumerate(MULTIDISK_VOLUMES)],
    }
    with pytest.raises(JobFailedError) as info:
        lifecycle_for(client_for(emu)).create(inputs)
    err = info.value
    job = emu.admin.state()["jobs"][0]
    sub_ids = [sub["job_id"] for sub in err.sub_failures]
    assert len(sub_ids) == 2 and all(sub_id in str(err) for sub_id in sub_ids)
    assert err.job_id == job["job_id"] and "disk detached" in str(err) and "IMG.0120" in str(err)
    assert images(emu) == {}


def test_failed_job_through_the_host_names_job_code_and_reason(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    emu.admin.add_fault(kind="job_fail", error_code="IMG.0061", fail_reason="backend exploded")
    inputs = host.checked("fails", inputs_for("data_only", "fails"))
    with pytest.raises(grpc.RpcError) as info:
        host.create("fails", inputs)
    details = info.value.details()  # type: ignore[attr-defined]
    job_id = emu.admin.state()["jobs"][0]["job_id"]
    assert f"IMS job {job_id} failed: IMG.0061: backend exploded" in details
    assert images(emu) == {}


# --- real IMS may keep a failed job's images: a scripted IMS that does -----------------------------


DATA_VOLUME = "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30"
# What the scripted images are: the system image of the seeded ECS and an image of its data disk.
_MADE_AS = {
    "sys": {"virtual_env_type": "FusionCompute", "__data_origin": f"instance,{ECS}"},
    "data": {"virtual_env_type": "DataImage", "__data_origin": f"volume,{DATA_VOLUME}"},
}


class ScriptedIms:
    """Plays the calls create makes; images stay until deleted, like a real IMS might keep them."""

    project_id = "p"

    def __init__(self, jobs: Sequence[dict[str, Any]], images: Mapping[str, str]) -> None:
        self._jobs: Iterator[dict[str, Any]] = iter(jobs)
        self._last: dict[str, Any] = {}
        self.images = {i: {"id": i, "status": s, **_MADE_AS[i]} for i, s in images.items()}
        self.busy_once = {i for i, s in images.items() if s == "saving"}
        self.undeletable: set[str] = set()
        self.deleted: list[str] = []

    def create_image(self, body: Mapping[str, Any]) -> str:
        return "job-1"

    def get_job(self, job_id: str) -> dict[str, Any]:
        self._last = next(self._jobs, self._last)
        return self._last

    def list_images(self, **filters: str) -> list[dict[str, Any]]:
        return []

    def get_image(self, image_id: str) -> dict[str, Any] | None:
        image = self.images.get(image_id)
        if image is not None and image_id in self.busy_once and image_id not in self.undeletable:
            image["status"] = "killed"  # the failed job's image settles
        return image

    def delete_image(self, image_id: str) -> bool:
        if image_id in self.undeletable:
            raise ImsApiError(403, "IMG.0092", "Only the image owner can delete it.")
        if image_id in self.busy_once and self.images[image_id]["status"] == "saving":
            raise ImsApiError(400, "IMG.0090", "The image is being created and cannot be deleted.")
        self.deleted.append(image_id)
        return self.images.pop(image_id, None) is not None


def _job(
    status: str, image_id: str | None = None, subs: Sequence[dict[str, Any]] = (), **extra: Any
) -> dict[str, Any]:
    entities: dict[str, Any] = {"sub_jobs_result": list(subs)}
    if image_id:
        entities["image_id"] = image_id
    return {"job_id": "job-1", "status": status, "entities": entities, **extra}


def _sub(status: str, image_id: str, **extra: Any) -> dict[str, Any]:
    return {"job_id": f"sub-{image_id}", "status": status, "entities": {"image_id": image_id}, **extra}


def _lifecycle(ims: ScriptedIms) -> ImageLifecycle:
    return ImageLifecycle(ims, RunOptions(clock=FakeClock(), write=lambda _line: None, recovery_grace=1.0))  # type: ignore[arg-type]


ECS_DATA = {
    "name": "x",
    "instance_id": ECS,
    "data_images": [{"name": "x-d", "volume_id": DATA_VOLUME}],
}


def test_images_of_a_failed_job_that_ims_kept_are_deleted_even_while_still_saving() -> None:
    ims = ScriptedIms(
        [
            _job("RUNNING", "sys", [_sub("RUNNING", "data")]),
            _job("FAIL", "sys", [_sub("FAIL", "data", error_code="IMG.0120", fail_reason="gone")],
                 error_code="IMG.0120", fail_reason="a data disk failed"),
        ],
        {"sys": "active", "data": "saving"},
    )  # fmt: skip
    with pytest.raises(JobFailedError) as info:
        _lifecycle(ims).create(ECS_DATA)
    assert ims.images == {} and sorted(info.value.cleaned_up) == ["data", "sys"]
    text = str(info.value)
    assert "job-1" in text and "a data disk failed" in text and "sub-job sub-data: IMG.0120: gone" in text


def test_image_ids_seen_while_running_are_cleaned_even_if_the_failed_job_stops_reporting_them() -> None:
    ims = ScriptedIms(
        [_job("RUNNING", "sys"), _job("FAIL", None, error_code="IMG.0061", fail_reason="x")],
        {"sys": "active"},
    )
    with pytest.raises(JobFailedError) as info:
        _lifecycle(ims).create(inputs_for("ecs", "x"))
    assert ims.deleted == ["sys"] and info.value.cleaned_up == ["sys"]


def test_a_failed_sub_job_under_a_successful_parent_still_fails_and_cleans() -> None:
    ims = ScriptedIms(
        [_job("SUCCESS", "sys", [_sub("FAIL", "data", error_code="IMG.0022", fail_reason="disk busy")])],
        {"sys": "active", "data": "active"},
    )
    with pytest.raises(JobFailedError) as info:
        _lifecycle(ims).create(ECS_DATA)
    assert ims.images == {} and "IMG.0022" in str(info.value)


def test_an_image_that_cannot_be_deleted_is_named_in_the_error() -> None:
    ims = ScriptedIms([_job("FAIL", "sys", error_code="IMG.0061", fail_reason="x")], {"sys": "active"})
    ims.undeletable.add("sys")
    with pytest.raises(JobFailedError) as info:
        _lifecycle(ims).create(inputs_for("ecs", "x"))
    assert info.value.left_behind == ["sys"]
    assert "could NOT delete the images sys" in str(info.value) and "by hand" in str(info.value)


def test_an_image_killed_after_a_successful_job_is_reported_and_removed() -> None:
    ims = ScriptedIms([_job("SUCCESS", "sys")], {"sys": "killed"})
    with pytest.raises(JobFailedError) as info:
        _lifecycle(ims).create(inputs_for("ecs", "x"))
    assert "sys" in str(info.value) and ims.images == {}


class LateListingIms(ScriptedIms):
    """IMS whose image list shows a successful job's image only after ``hidden_polls`` look-ups."""

    def __init__(self, hidden_polls: int) -> None:
        super().__init__([_job("SUCCESS", "sys")], {"sys": "active"})
        self.hidden_polls = hidden_polls

    def get_image(self, image_id: str) -> dict[str, Any] | None:
        if self.hidden_polls > 0:
            self.hidden_polls -= 1
            return None
        return super().get_image(image_id)

    def list_tags(self, image_id: str) -> list[dict[str, str]]:
        return []

    def update_image(self, image_id: str, ops: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self.images[image_id]


def test_an_image_the_list_shows_late_is_still_taken() -> None:
    ims = LateListingIms(hidden_polls=3)
    record = _lifecycle(ims).create(inputs_for("ecs", "x"))
    assert record.id == "sys" and ims.deleted == []


def test_an_image_that_never_shows_up_fails_the_create_after_the_listing_grace() -> None:
    ims = LateListingIms(hidden_polls=10**6)
    with pytest.raises(JobFailedError) as info:
        _lifecycle(ims).create(inputs_for("ecs", "x"))
    assert "image sys vanished" in str(info.value)
