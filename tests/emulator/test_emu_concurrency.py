"""Concurrent clients: every create is applied atomically and the state stays consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from emu_support import Ims

from ims_provider.emulator import EmulatorServer
from ims_provider.emulator import fixtures as fx

OBS_BODY = {"name": "img", "image_url": fx.SEED_OBJECT_URL, "min_disk": 40}


def test_sixteen_concurrent_creates(mims: Ims) -> None:
    def create(i: int) -> str:
        return Ims(mims.server).create({**OBS_BODY, "name": f"img-{i}"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        job_ids = list(pool.map(create, range(16)))
    assert len(set(job_ids)) == 16
    mims.admin.advance(3600)
    jobs = [mims.job(j) for j in job_ids]
    assert {j["status"] for j in jobs} == {"SUCCESS"}
    image_ids = {j["entities"]["image_id"] for j in jobs}
    assert len(image_ids) == 16
    state = mims.admin.state()
    assert {i["id"] for i in state["images"]} == image_ids
    assert sorted(i["name"] for i in state["images"]) == sorted(f"img-{i}" for i in range(16))
    assert len([e for e in mims.admin.requests(method="POST") if e["status"] == 200]) == 16


def test_quota_holds_under_a_race() -> None:
    with EmulatorServer(port=0, clock_mode="manual", image_quota=5) as server:

        def create(i: int) -> int:
            return Ims(server).post("/v2/cloudimages/action", json={**OBS_BODY, "name": f"r-{i}"}).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(create, range(16)))
        assert statuses.count(200) == 5 and statuses.count(400) == 11
        assert len(server.admin.state()["images"]) == 5


def test_concurrent_mixed_traffic(ims: Ims) -> None:
    image_id = ims.wait(ims.create(OBS_BODY))["entities"]["image_id"]
    action = f"/v2/{ims.project_id}/images/{image_id}/tags/action"

    def work(i: int) -> int:
        client = Ims(ims.server)
        if i % 3 == 0:
            return client.post(
                action, json={"action": "create", "tags": [{"key": f"k{i % 9}", "value": "v"}]}
            ).status_code
        if i % 3 == 1:
            return client.get("/v2/cloudimages").status_code
        ops = [{"op": "replace", "path": "/name", "value": f"n{i}"}]
        return client.patch(f"/v2/cloudimages/{image_id}", json=ops).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(work, range(36)))
    assert set(statuses) <= {200, 204}
    tags = ims.get(f"/v2/{ims.project_id}/images/{image_id}/tags").json()["tags"]
    assert len(tags) <= 10
