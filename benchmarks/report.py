"""Figures, targets (PASS/FAIL), markdown tables and the plot, from one benchmark run."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .stack import StackResult
from .virtual import JobRun

WITH_PROGRESS = ("linear", "front_loaded", "stepped")
LONG_JOB_MIN = 5  # "jobs of 5 minutes and longer"
SCHEDULE_LABELS = {"ours": "ours", "terraform": "Terraform (10 s + 10 s)", "fixed_5s": "fixed 5 s"}


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (the value 95% of the runs do not exceed)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Cell:
    median_lag: float
    p95_lag: float
    polls: float  # mean polls per job
    runs: int


def cells(runs: Sequence[JobRun]) -> dict[tuple[str, int, str], Cell]:
    """(profile, minutes, schedule) -> figures over the seeds."""
    groups: dict[tuple[str, int, str], list[JobRun]] = defaultdict(list)
    for run in runs:
        groups[(run.profile, run.minutes, run.schedule)].append(run)
    return {
        key: Cell(
            statistics.median(r.lag for r in group),
            p95([r.lag for r in group]),
            statistics.mean(r.polls for r in group),
            len(group),
        )
        for key, group in groups.items()
    }


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    ok: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.ok else "FAIL"


def _lags(runs: Sequence[JobRun], schedule: str, profile: str, minutes: int | None = None) -> list[float]:
    return [
        r.lag
        for r in runs
        if r.schedule == schedule and r.profile == profile and (minutes is None or r.minutes == minutes)
    ]


def targets(runs: Sequence[JobRun], stack: StackResult | None) -> list[Target]:
    table = cells(runs)
    profiles = sorted({r.profile for r in runs})
    durations = sorted({r.minutes for r in runs})
    found: list[Target] = []
    progress = [p for p in WITH_PROGRESS if p in profiles]
    if progress:
        for label, stat, limit in (("median", statistics.median, 1.0), ("p95", p95, 3.0)):
            per_cell = {(p, m): stat(_lags(runs, "ours", p, m)) for p in progress for m in durations}
            worst = {p: max(v for (q, _), v in per_cell.items() if q == p) for p in progress}
            found.append(
                Target(
                    f"With progress: {label} detection lag <= {limit:g} s (every profile and duration)",
                    "worst cell per profile: " + ", ".join(f"{p} {v:.2f} s" for p, v in worst.items()),
                    all(v <= limit for v in per_cell.values()),
                )
            )
        ratios = {
            (p, m): table[(p, m, "ours")].polls / table[(p, m, "terraform")].polls
            for p in progress
            for m in durations
            if m >= LONG_JOB_MIN
        }
        if ratios:
            worst = max(ratios, key=lambda k: ratios[k])
            found.append(
                Target(
                    f"With progress, jobs >= {LONG_JOB_MIN} min: polls <= 1/2 of Terraform's (every cell)",
                    f"worst {worst[0]} {worst[1]} min: {ratios[worst]:.2f} of Terraform's",
                    all(v <= 0.5 for v in ratios.values()),
                )
            )
    if "absent" in profiles:
        worse = [
            m
            for m in durations
            if statistics.median(_lags(runs, "ours", "absent", m))
            > statistics.median(_lags(runs, "terraform", "absent", m)) + 1e-6
            or p95(_lags(runs, "ours", "absent", m)) > p95(_lags(runs, "terraform", "absent", m)) + 1e-6
        ]
        med = statistics.median(_lags(runs, "ours", "absent"))
        tf_med = statistics.median(_lags(runs, "terraform", "absent"))
        found.append(
            Target(
                "Without progress: lag no worse than Terraform's (median and p95, every duration)",
                f"median {med:.2f} s vs {tf_med:.2f} s" + (f"; worse at {worse} min" if worse else ""),
                not worse,
            )
        )
        more = {
            m: table[("absent", m, "ours")].polls / table[("absent", m, "terraform")].polls for m in durations
        }
        found.append(
            Target(
                "Without progress: no more polls than Terraform's (every duration)",
                f"at most {max(more.values()):.2f} of Terraform's",
                all(v <= 1.0 + 1e-9 for v in more.values()),
            )
        )
    if stack is not None:
        ratio = stack.create_wall / stack.bound
        found.append(
            Target(
                f"Stack: {stack.images} creates within 5% of the {stack.workers}-worker bound",
                f"{stack.create_wall:.1f} s vs {stack.bound:.1f} s ({ratio - 1:+.1%})",
                ratio <= 1.05,
            )
        )
        found.append(
            Target(
                "Stack: host peak memory < 150 MB",
                f"{stack.peak_rss_mb:.1f} MB (VmHWM)",
                stack.peak_rss_mb < 150,
            )
        )
    return found


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model
            )
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()} ({sys.implementation.name})"
    )


def _lag_table(runs: Sequence[JobRun]) -> list[str]:
    table = cells(runs)
    schedules = [s for s in SCHEDULE_LABELS if any(r.schedule == s for r in runs)]
    head = ["profile", "job"]
    for s in schedules:
        head += [f"{s} lag median", f"{s} lag p95", f"{s} polls"]
    head.append("polls ours / TF")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for profile in sorted({r.profile for r in runs}, key=_profile_order):
        for minutes in sorted({r.minutes for r in runs}):
            row = [profile, f"{minutes} min"]
            for s in schedules:
                cell = table[(profile, minutes, s)]
                row += [f"{cell.median_lag:.2f} s", f"{cell.p95_lag:.2f} s", f"{cell.polls:.1f}"]
            ratio = table[(profile, minutes, "ours")].polls / table[(profile, minutes, "terraform")].polls
            row.append(f"{ratio:.2f}")
            lines.append("| " + " | ".join(row) + " |")
    return lines


def _profile_order(profile: str) -> int:
    order = ("linear", "front_loaded", "stepped", "absent")
    return order.index(profile) if profile in order else len(order)


def _stack_table(stack: StackResult) -> list[str]:
    lines = [
        "| figure | value |",
        "|---|---|",
        f"| images, job length, host workers | {stack.images}, {stack.job_seconds:g} s, {stack.workers} |",
        f"| one create alone (measured in the same run) | {stack.single_create:.2f} s |",
        f"| bound: ceil({stack.images}/{stack.workers}) x one create | {stack.bound:.2f} s |",
        f"| (jobs alone: ceil({stack.images}/{stack.workers}) x {stack.job_seconds:g} s) | "
        f"{stack.floor:.2f} s |",
        f"| {stack.images} creates at once, wall time | {stack.create_wall:.2f} s "
        f"({stack.create_wall / stack.bound - 1:+.1%} vs bound) |",
        f"| {stack.images} reads at once / {stack.images} deletes at once | "
        f"{stack.read_wall:.2f} s / {stack.delete_wall:.2f} s |",
        f"| host peak memory: VmHWM / highest sampled VmRSS | {stack.peak_rss_mb:.1f} MB / "
        f"{stack.sampled_rss_mb:.1f} MB |",
    ]
    total = 0.0
    for phase in ("create", "read", "delete"):
        kinds = stack.per_image(phase)
        total += sum(kinds.values())
        detail = ", ".join(f"{kind} {n:g}" for kind, n in kinds.items()) or "none"
        lines.append(f"| requests per image: {phase} | {sum(kinds.values()):g} ({detail}) |")
    lines.append(f"| requests per image lifecycle | {total:g} |")
    return lines


NOTES = [
    "* How: from the history of `process_percent` the waiter predicts the end (a power-law fit for smooth "
    "progress; for equal steps such as the emulator's quarters, hard bounds on every later step from the "
    "line the steps lie on) and polls only where the end or a step worth pinning down can be, between "
    "1 s and 60 s apart. Without progress it is Terraform's schedule, by construction.",
    "* Short jobs (1-3 min) cost more polls than Terraform's 6-18: landing within about a second of the end "
    "takes a few polls whatever the length. The poll target applies from 5 min on.",
    "* Stepped progress has the highest lag of the progress profiles by design: its end window is covered "
    "every 1.5 s (`end_spacing`), because the end is only known to a few seconds.",
    "* Stack requests per image, by kind as the emulator logged them: a create is the POST, the job polls, "
    "image reads until active, and the calls by which the provider marks the image as the resource's "
    "(recovery after an interrupted create); reads and deletes as listed.",
]


def markdown(
    runs: Sequence[JobRun],
    stack: StackResult | None,
    *,
    seeds: int,
    date: str,
    elapsed: float,
    command: str,
) -> str:
    found = targets(runs, stack)
    durations = ", ".join(str(m) for m in sorted({r.minutes for r in runs}))
    out = [
        "# Benchmark results",
        "",
        f"`{command}` on {date}, {machine()}; the whole run took {elapsed:.0f} s.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *(f"| {t.name} | {t.measured} | **{t.verdict}** |" for t in found),
        "",
        "## Detection lag and polls per job (virtual time)",
        "",
        f"Jobs of {durations} min (each seed +-10%), {seeds} seeds per cell, every schedule on the same "
        "jobs, polled through the real HTTP client against the emulator's manual clock. Lag: the virtual "
        "time of the first poll that saw SUCCESS minus the job's end; polls: GET job requests in the "
        "emulator's log. Terraform: first poll after 10 s, then every 10 s.",
        "",
        *_lag_table(runs),
    ]
    out += ["", "## Notes", "", *NOTES]
    if stack is not None:
        out += [
            "",
            "## Stack run (real time, real `pulumi.dynamic` host over gRPC)",
            "",
            "Creates fired at once from one client thread each (as the engine does); the host serves 4 at a "
            "time. The bound is what the host's 4 workers allow if every create were as fast as one alone.",
            "",
            *_stack_table(stack),
        ]
    return "\n".join(out) + "\n"


def plot(runs: Sequence[JobRun], path: Path) -> None:
    """Median lag and polls per job against job length, one column per progress profile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = cells(runs)
    profiles = sorted({r.profile for r in runs}, key=_profile_order)
    durations = sorted({r.minutes for r in runs})
    schedules = [s for s in SCHEDULE_LABELS if any(r.schedule == s for r in runs)]
    fig, axes = plt.subplots(2, len(profiles), figsize=(4 * len(profiles), 7), squeeze=False, sharex=True)
    for col, profile in enumerate(profiles):
        lag_ax, poll_ax = axes[0][col], axes[1][col]
        for schedule in reversed(schedules):  # ours last and dashed: without progress it hides Terraform's
            style = "--" if schedule == "ours" else "-"
            color = {"ours": "C0", "terraform": "C1"}.get(schedule, "C2")
            figures = [table[(profile, m, schedule)] for m in durations]
            lag_ax.plot(
                durations,
                [c.median_lag for c in figures],
                marker="o",
                linestyle=style,
                color=color,
                label=SCHEDULE_LABELS[schedule],
            )
            poll_ax.plot(
                durations,
                [c.polls for c in figures],
                marker="o",
                linestyle=style,
                color=color,
                label=SCHEDULE_LABELS[schedule],
            )
        lag_ax.set_title(profile)
        lag_ax.set_ylim(bottom=0)
        poll_ax.set_yscale("log")
        poll_ax.set_xlabel("job length (min)")
        if col == 0:
            lag_ax.set_ylabel("median detection lag (s)")
            poll_ax.set_ylabel("polls per job")
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
