"""``python -m benchmarks [--quick] [--skip-stack]``: run everything, print the markdown, write the files.

Writes ``benchmarks/results/latest.md``, ``benchmarks/results/lag_polls.png`` and ``runs.csv`` (git-ignored),
and the same markdown to ``benchmarks/RESULTS.md`` (committed) unless ``--no-save``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import os
import sys
import time
from pathlib import Path

from . import report, virtual

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 seeds, jobs of 1, 7 and 15 min: a smoke test")
    parser.add_argument("--skip-stack", action="store_true", help="skip the real-time stack runs (~2 min)")
    parser.add_argument("--seeds", type=int, help="seeds per cell (default 20, 3 with --quick)")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4), help="processes")
    parser.add_argument("--no-save", action="store_true", help="do not overwrite benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    seeds = args.seeds or (3 if args.quick else 20)
    durations = (1, 7, 15) if args.quick else virtual.DURATIONS_MIN
    print(
        f"virtual time: {len(virtual.PROFILES)} profiles x {len(durations)} durations x {seeds} seeds x "
        f"{len(virtual.SCHEDULES)} schedules, {args.workers} processes",
        file=sys.stderr,
    )
    runs = virtual.run_all(virtual.PROFILES, durations, range(seeds), workers=args.workers)
    print(f"virtual time: {len(runs)} jobs in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    stack = None
    if not args.skip_stack:
        from .stack import run_stack  # imports the Pulumi SDK and the test host: only when needed

        stack = run_stack(log=lambda line: print(line, file=sys.stderr))

    command = (
        "make bench"
        if not (args.quick or args.skip_stack or args.seeds)
        else " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    )
    text = report.markdown(
        runs,
        stack,
        seeds=seeds,
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        elapsed=time.perf_counter() - started,
        command=command,
    )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(text, encoding="utf-8")
    with open(results / "runs.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[f.name for f in dataclasses.fields(virtual.JobRun)])
        writer.writeheader()
        writer.writerows(dataclasses.asdict(r) for r in runs)
    report.plot(runs, results / "lag_polls.png")
    if not args.no_save:
        (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    print(text)
    failed = [t for t in report.targets(runs, stack) if t.failed]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
