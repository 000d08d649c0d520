"""Eight creates at once against one host, whose gRPC server has 4 worker threads (as under `pulumi up`)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from ims_provider.emulator.fixtures import SEED_ECS_ID
from ims_provider.emulator.server import EmulatorServer
from tests.engine.host import DynamicProviderHost
from tests.engine.support import CREATE_PATH, images

LATENCY = 2.0  # seconds IMS takes to answer each create request


def most_at_once(entries: list[dict[str, Any]]) -> int:
    """The largest number of these requests IMS was serving at the same moment."""
    events: list[tuple[datetime, int]] = []
    for entry in entries:
        start = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        events += [(start, 1), (start + timedelta(milliseconds=entry["duration_ms"]), -1)]
    busy = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        busy += step
        peak = max(peak, busy)
    return peak


def test_eight_creates_at_once(fast_host: DynamicProviderHost, emu: EmulatorServer) -> None:
    emu.admin.add_fault(kind="latency", latency=LATENCY, method="POST", path=CREATE_PATH, count=8)
    names = [f"conc-{i}" for i in range(8)]
    inputs = {n: fast_host.checked(n, {"name": n, "instance_id": SEED_ECS_ID}) for n in names}

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(names, pool.map(lambda n: fast_host.create(n, inputs[n]), names), strict=True))
    wall = time.monotonic() - start

    ids = {name: id_ for name, (id_, _) in results.items()}
    made = images(emu)
    assert len(set(ids.values())) == 8 and set(ids.values()) == set(made)
    assert {name: made[id_]["name"] for name, id_ in ids.items()} == {n: n for n in names}
    assert all(state["status"] == "active" for _, state in results.values())
    posts = emu.admin.requests(method="POST", path=CREATE_PATH)
    assert [p["status"] for p in posts] == [200] * 8  # one request per image: none sent twice
    assert most_at_once(posts) == 4  # the host's 4 workers, never more
    # Two batches of four: more than one create's latency twice over, well under three.
    assert 2 * LATENCY <= wall < 3 * LATENCY, wall
