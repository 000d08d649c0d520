"""Each fault kind: injected statuses, dropped connections, latency, failing and hanging jobs."""

from __future__ import annotations

import pytest
import requests
from emu_support import Ims, ims_error

from ims_provider.emulator import AdminError
from ims_provider.emulator import fixtures as fx

OBS_BODY = {"name": "img", "image_url": fx.SEED_OBJECT_URL, "min_disk": 40}
CREATE = r"/v2/cloudimages/action"


def test_throttling_429_default_body_then_recovers(ims: Ims) -> None:
    ims.admin.add_fault(kind="status", status=429, method="POST", path=CREATE, count=2)
    for _ in range(2):
        response = ims.post("/v2/cloudimages/action", json=OBS_BODY)
        assert response.status_code == 429
        body = response.json()
        assert body["error_code"] == "APIGW.0308" and body["request_id"] == response.headers["X-Request-Id"]
    assert ims.post("/v2/cloudimages/action", json=OBS_BODY).status_code == 200
    assert len(ims.admin.state()["jobs"]) == 1
    assert ims.admin.faults() == []


def test_an_ims_server_error_has_an_ims_body(ims: Ims) -> None:
    ims.admin.add_fault(kind="status", status=500, method="GET", path=r"/v1/cloudimages/job/.*")
    response = ims.get("/v1/cloudimages/job/abc")
    assert response.status_code == 500
    assert ims_error(response) == "IMG.0061"
    assert ims.get("/v1/cloudimages/job/abc").status_code == 404


@pytest.mark.parametrize(("status", "code"), [(502, "APIG.0202"), (504, "APIG.0203"), (503, None)])
def test_an_unavailable_backend_has_a_gateway_body_or_none(ims: Ims, status: int, code: str | None) -> None:
    ims.admin.add_fault(kind="status", status=status, method="GET", path=r"/v1/cloudimages/job/.*")
    response = ims.get("/v1/cloudimages/job/abc")
    assert response.status_code == status
    if code is None:
        assert response.content == b""
    else:
        assert response.json()["error_code"] == code and "error" not in response.json()


def test_flow_control_img0060(ims: Ims) -> None:
    ims.admin.add_fault(kind="status", status=400, error_code="IMG.0060", path=CREATE)
    response = ims.post("/v2/cloudimages/action", json=OBS_BODY)
    assert response.status_code == 400 and ims_error(response) == "IMG.0060"
    assert ims.admin.state()["jobs"] == []


def test_custom_body_and_headers(ims: Ims) -> None:
    ims.admin.add_fault(
        kind="status",
        status=429,
        path="/v2/cloudimages",
        method="GET",
        body={"x": 1},
        headers={"Retry-After": "1"},
    )
    response = ims.get("/v2/cloudimages")
    assert response.status_code == 429 and response.json() == {"x": 1}
    assert response.headers["Retry-After"] == "1"


def test_method_and_full_path_match(ims: Ims) -> None:
    ims.admin.add_fault(kind="status", status=503, method="GET", path="/v2/cloud")
    assert ims.get("/v2/cloudimages").status_code == 200  # full match only
    ims.admin.clear_faults()
    ims.admin.add_fault(kind="status", status=503, method="POST", path="/v2/cloudimages")
    assert ims.get("/v2/cloudimages").status_code == 200  # other method
    assert len(ims.admin.faults()) == 1


def test_probability_is_seeded_and_repeatable(ims: Ims) -> None:
    def run() -> list[int]:
        ims.admin.clear_faults()
        ims.admin.add_fault(kind="status", status=503, path="/v2/cloudimages", probability=0.5, seed=7)
        return [ims.get("/v2/cloudimages").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert {200, 503} == set(first)


def test_drop_before_leaves_state_unchanged(ims: Ims) -> None:
    ims.admin.add_fault(kind="drop_before", method="POST", path=CREATE)
    with pytest.raises(requests.ConnectionError):
        ims.post("/v2/cloudimages/action", json=OBS_BODY)
    assert ims.admin.state()["jobs"] == []
    (entry,) = ims.admin.requests(method="POST")
    assert entry["status"] is None and entry["dropped"] == "before" and entry["body"] == OBS_BODY


def test_drop_after_changes_state_but_client_sees_no_response(ims: Ims) -> None:
    ims.admin.add_fault(kind="drop_after", method="POST", path=CREATE)
    with pytest.raises(requests.ConnectionError):
        ims.post("/v2/cloudimages/action", json=OBS_BODY)
    assert len(ims.admin.state()["jobs"]) == 1
    assert len(ims.admin.state()["images"]) == 1
    (entry,) = ims.admin.requests(method="POST")
    assert entry["status"] is None and entry["dropped"] == "after" and entry["processed_status"] == 200


def test_latency(ims: Ims) -> None:
    ims.admin.add_fault(kind="latency", latency=0.3, method="GET", path="/v2/cloudimages")
    assert ims.get("/v2/cloudimages").status_code == 200
    ims.get("/v2/cloudimages")
    delayed, plain = ims.admin.requests(method="GET", path="/v2/cloudimages")[-2:]
    assert delayed["latency"] == 0.3 and delayed["status"] == 200 and delayed["duration_ms"] >= 300
    assert plain["latency"] is None  # the fault applied to the next matching request only


def test_job_fail(mims: Ims) -> None:
    mims.admin.fail_next_job("IMG.0057", "The image file is corrupt.")
    job_id = mims.create(OBS_BODY)
    image_id = mims.job(job_id)["entities"]["image_id"]
    assert mims.image(image_id) is not None  # exists while the job runs
    job = mims.wait(job_id)
    assert job["status"] == "FAIL"
    assert job["error_code"] == "IMG.0057" and job["fail_reason"] == "The image file is corrupt."
    assert "image_id" not in job["entities"] and job["end_time"]
    assert mims.image(image_id) is None
    assert mims.admin.state()["images"] == []
    assert mims.wait(mims.create(OBS_BODY))["status"] == "SUCCESS"  # count=1 by default


def test_job_fail_marks_the_failing_sub_job(mims: Ims) -> None:
    mims.admin.add_fault(kind="job_fail", error_code="IMG.0061", fail_reason="copy failed", sub_job=1)
    body = {
        "data_images": [
            {"name": "a", "volume_id": fx.MULTIDISK_DATA_VOLUME_IDS[0]},
            {"name": "b", "volume_id": fx.MULTIDISK_DATA_VOLUME_IDS[1]},
        ]
    }
    job = mims.wait(mims.create(body))
    assert job["status"] == "FAIL" and job["error_code"] == "IMG.0061"
    subs = job["entities"]["sub_jobs_result"]
    assert [s["status"] for s in subs] == ["FAIL", "FAIL"]
    assert subs[1]["fail_reason"] == "copy failed" and subs[1]["error_code"] == "IMG.0061"
    assert subs[1]["job_id"] in subs[0]["fail_reason"]
    assert all("image_id" not in s["entities"] for s in subs)
    assert mims.admin.state()["images"] == []


def test_job_fault_is_not_consumed_by_a_rejected_request(mims: Ims) -> None:
    mims.admin.fail_next_job()
    assert mims.post("/v2/cloudimages/action", json={"name": " bad"}).status_code == 400
    assert len(mims.admin.faults()) == 1
    assert mims.wait(mims.create(OBS_BODY))["status"] == "FAIL"


def test_job_hang(mims: Ims) -> None:
    mims.admin.hang_next_job()
    job_id = mims.create(OBS_BODY)
    mims.admin.advance(365 * 24 * 3600)
    job = mims.job(job_id)
    assert job["status"] == "RUNNING" and job["end_time"] is None
    image_id = job["entities"]["image_id"]
    image = mims.image(image_id)
    assert image is not None and image["status"] == "saving"
    response = mims.delete(f"/v2/images/{image_id}")
    assert response.status_code == 400 and ims_error(response) == "IMG.0090"


def test_fault_admin(ims: Ims) -> None:
    fault_id = ims.admin.add_fault(kind="latency", latency=0.01, count=5)
    (listed,) = ims.admin.faults()
    assert listed["id"] == fault_id and listed["count"] == 5 and listed["path"] == ".*"
    ims.admin.delete_fault(fault_id)
    assert ims.admin.faults() == []
    with pytest.raises(AdminError):
        ims.admin.delete_fault(fault_id)
    for bad in ({"kind": "explode"}, {"kind": "status", "status": 99}, {"path": "("}, {"count": 0}, {"x": 1}):
        with pytest.raises(AdminError) as info:
            ims.admin.add_fault(**bad)
        assert info.value.status == 400
