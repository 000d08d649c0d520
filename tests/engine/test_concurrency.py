"""Eight creates at once against one host (as under `pulumi up`); how many run together: test_host_pool.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ims_provider.emulator.fixtures import SEED_ECS_ID
from ims_provider.emulator.server import EmulatorServer
from tests.engine.host import DynamicProviderHost
from tests.engine.support import CREATE_PATH, images

LATENCY = 2.0  # seconds IMS takes to answer each create request


def test_eight_creates_at_once(fast_host: DynamicProviderHost, emu: EmulatorServer) -> None:
    """Eight images of eight ECSs (IMS images one ECS at a time, so the same ECS would queue them)."""
    emu.admin.add_fault(kind="latency", latency=LATENCY, method="POST", path=CREATE_PATH, count=8)
    names = [f"conc-{i}" for i in range(8)]
    ecs = {n: emu.admin.add_server(status="SHUTOFF")["id"] for n in names}
    inputs = {n: fast_host.checked(n, {"name": n, "instance_id": ecs[n]}) for n in names}

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(names, pool.map(lambda n: fast_host.create(n, inputs[n]), names), strict=True))

    ids = {name: id_ for name, (id_, _) in results.items()}
    made = images(emu)
    assert len(set(ids.values())) == 8 and set(ids.values()) == set(made)
    assert {name: made[id_]["name"] for name, id_ in ids.items()} == {n: n for n in names}
    assert all(state["status"] == "active" for _, state in results.values())
    posts = emu.admin.requests(method="POST", path=CREATE_PATH)
    assert [p["status"] for p in posts] == [200] * 8  # one request per image: none sent twice


def test_eight_identical_creates_at_once(fast_host: DynamicProviderHost, emu: EmulatorServer) -> None:
    """Eight resources with the very same inputs: eight images, each tracked by one resource, none adopted
    by another (creates that expect the same image run one after the other inside the host)."""
    program = {"name": "twin", "instance_id": SEED_ECS_ID, "image_tags": {"team": "web"}}
    names = [f"twin-{i}" for i in range(8)]
    inputs = fast_host.checked(names[0], program)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: fast_host.create(n, inputs), names))
    ids = [id_ for id_, _ in results]
    assert len(set(ids)) == 8 and set(ids) == set(images(emu))
    assert len(emu.admin.requests(method="POST", path=CREATE_PATH)) == 8
