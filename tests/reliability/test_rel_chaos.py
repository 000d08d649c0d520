"""The chaos run through the real dynamic provider host: 20 creates (every create path, 8 submitted at
once, each from an ECS or volume of its own) while about 20% of IMS requests meet a transient fault of every
kind, then 20 deletes.

Run ``python -m pytest tests/reliability/test_rel_chaos.py -s`` to see the figures table.
"""

from __future__ import annotations

from ims_provider.emulator.server import EmulatorServer
from tests.engine.host import DynamicProviderHost
from tests.reliability.chaos_report import run_chaos
from tests.reliability.support import FAULT_KINDS, LATENCY


def test_chaos_twenty_creates_no_duplicates_no_orphans_all_tracked(
    host: DynamicProviderHost, emu: EmulatorServer
) -> None:
    run = run_chaos(emu, host, resources=20, rate=0.2, seed=7, workers=8)
    figures = run.figures
    print("\n" + figures.table())
    assert run.create_errors == {}
    assert figures.creates_ok == 20
    # Every kind of fault was met, on the create POST and on a job poll too.
    for kind in (*FAULT_KINDS, LATENCY):
        assert figures.on_create_post[kind.label] >= 1, kind.label
        assert figures.on_job_poll[kind.label] >= 1, kind.label
    # IMS holds exactly the images asked for: one job per resource, each image tracked once and claimed.
    assert figures.jobs_started == 20 and figures.duplicated == 0
    assert figures.images_created == figures.images_expected
    assert run.tracking.untracked == [] and run.tracking.missing == []
    assert run.tracking.double_tracked == [] and run.tracking.unclaimed == []
    assert len(run.tracking.tracked) == figures.images_expected
    # And the deletes, under the same faults, leave nothing behind.
    assert run.delete_errors == {} and figures.left_after_delete == 0
