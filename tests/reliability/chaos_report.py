"""The chaos run: N creates through the real dynamic provider host while the emulator injects transient
faults of every kind, then N deletes; prints the figures table (docs/reliability.md quotes it).

    .venv/bin/python -m tests.reliability.chaos_report [--resources 20] [--rate 0.2] [--seed 7] [--workers 8]

``test_rel_chaos.py`` runs the same function and asserts on the figures.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ims_provider.emulator.server import EmulatorServer
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost
from tests.reliability.support import (
    IMAGES_PER_KIND,
    KINDS,
    Figures,
    Tracking,
    count_faults,
    count_latency,
    fresh_sources,
    images,
    inject_chaos,
    inputs_for,
    tracking,
)

HOST_EXTRA = {"ims:recoveryGrace": "1", "ims:progress": "false"}


@dataclass
class ChaosRun:
    figures: Figures
    created: dict[str, tuple[str, dict[str, Any]]]  # resource name -> (id, state)
    create_errors: dict[str, str]
    delete_errors: dict[str, str]
    tracking: Tracking


def _attempt(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:
        return exc


def run_chaos(
    emu: EmulatorServer,
    host: DynamicProviderHost,
    *,
    resources: int = 20,
    rate: float = 0.2,
    seed: int = 7,
    workers: int = 8,
) -> ChaosRun:
    """Create ``resources`` images (every create path, each resource from sources of its own, as IMS images
    one ECS at a time) under faults, check IMS, then delete them all."""
    kinds = [KINDS[i % len(KINDS)] for i in range(resources)]
    names = [f"chaos-{i:02d}" for i in range(resources)]
    checked = {
        name: host.checked(name, inputs_for(kind, name, fresh_sources(emu)))
        for name, kind in zip(names, kinds, strict=True)
    }
    emu.admin.clear_requests()
    injected = inject_chaos(emu, rate, seed)
    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        outcomes = dict(
            zip(names, pool.map(lambda n: _attempt(host.create, n, checked[n]), names), strict=True)
        )
    created = {n: o for n, o in outcomes.items() if not isinstance(o, Exception)}
    errors = {n: _error_text(o) for n, o in outcomes.items() if isinstance(o, Exception)}
    figures = Figures(resources=resources, creates_ok=len(created))
    figures.images_expected = sum(IMAGES_PER_KIND[k] for k in kinds)
    report = tracking(emu, created.values())
    figures.images_created = len(images(emu))
    figures.orphaned = len(report.untracked)
    figures.double_tracked = len(report.double_tracked)
    figures.unclaimed = len(report.unclaimed)
    create_log = emu.admin.requests()

    def delete(name: str) -> Any:
        rid, state = created[name]
        return _attempt(host.delete, name, rid, state)

    with ThreadPoolExecutor(workers) as pool:
        deleted = dict(zip(created, pool.map(delete, created), strict=True))
    figures.seconds = time.monotonic() - started
    delete_errors = {n: _error_text(o) for n, o in deleted.items() if isinstance(o, Exception)}
    figures.deletes_ok = len(created) - len(delete_errors)
    figures.left_after_delete = len(images(emu))
    still_armed = {f["id"]: f for f in emu.admin.faults()}
    emu.admin.clear_faults()
    count_faults(figures, emu.admin.requests(), injected.kinds)
    count_latency(figures, injected, still_armed)
    create_figures = Figures()
    count_faults(create_figures, create_log, injected.kinds)
    figures.jobs_started = create_figures.jobs_started
    figures.create_posts = create_figures.create_posts
    figures.duplicated = max(0, figures.jobs_started - resources)
    return ChaosRun(figures, created, errors, delete_errors, report)


def _error_text(exc: Exception) -> str:
    details = getattr(exc, "details", None)
    text = details() if callable(details) else str(exc)
    return str(text).strip().splitlines()[-1] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--job-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    with EmulatorServer(job_seconds=args.job_seconds) as emu:
        config: Mapping[str, str] = stack_config(emu.url, **HOST_EXTRA)
        with DynamicProviderHost(config) as host:
            run = run_chaos(
                emu, host, resources=args.resources, rate=args.rate, seed=args.seed, workers=args.workers
            )
    print(f"chaos: {args.resources} resources, fault rate {args.rate:.0%}, seed {args.seed}\n")
    print(run.figures.table())
    for name, text in {**run.create_errors, **run.delete_errors}.items():
        print(f"error: {name}: {text}")
    return 0 if not (run.create_errors or run.delete_errors) else 1


if __name__ == "__main__":
    raise SystemExit(main())
