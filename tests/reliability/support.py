"""Helpers shared by the reliability tests and the chaos report: clients, request bodies, claim checks,
fault plans and the figures read back from the emulator's request log."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import grpc
from pulumi.dynamic import ResourceProvider

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.fixtures import DEFAULT_FIXTURES
from ims_provider.emulator.server import EmulatorServer
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.operations import RunOptions
from ims_provider.recovery import CLAIM_ATTRIBUTE, CLAIM_TAG
from ims_provider.retry import RetryPolicy
from tests.engine.host import DynamicProviderHost

CREATE_PATH = "/v2/cloudimages/action"
# Seeded emulator resources (ims_provider/emulator/README.md, "Seeded resources").
ECS = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"
ECS_DATA_VOLUME = "c5dfbd0c-bf0a-4798-a453-61dc6b54aa30"
OS_VOLUME = "877a2cda-ba63-4e1e-b95f-e67e48b6129a"
OBS_FILE = "ims-image:centos70.qcow2"
OBS_DATA_FILE = "ims-image:data-disk-1.qcow2"
FAST_RETRY = RetryPolicy(base=0.05, cap=0.5, budget=30.0)

assert DEFAULT_FIXTURES  # the ids above are the default fixtures': a fresh emulator holds them


def emulator_config(emu: EmulatorServer, **extra: str) -> dict[str, str]:
    return {
        "ims:endpoint": emu.url,
        "ims:region": emu.region,
        "ims:accessKey": emu.access_key,
        "ims:secretKey": emu.secret_key,
        **extra,
    }


def client_for(
    emu: EmulatorServer,
    *,
    timeout: tuple[float, float] = (5.0, 60.0),
    retry: RetryPolicy = FAST_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    **extra: str,
) -> ImsClient:
    config = load_config(emulator_config(emu, **extra).get, {})
    return ImsClient(config, retry=retry, timeout=timeout, sleep=sleep)


def lifecycle_for(
    client: ImsClient, lines: list[str] | None = None, *, recovery_grace: float = 1.0
) -> ImageLifecycle:
    sink = lines if lines is not None else []
    return ImageLifecycle(
        client, RunOptions(write=sink.append, poll_delay=0.1, recovery_grace=recovery_grace)
    )


@dataclass(frozen=True)
class Sources:
    """The disks the create paths read: an ECS with one data disk, and a detached volume holding an OS."""

    ecs: str = ECS
    ecs_data_volume: str = ECS_DATA_VOLUME
    os_volume: str = OS_VOLUME


SEEDED = Sources()


def fresh_sources(emu: EmulatorServer) -> Sources:
    """Sources of their own, added through the admin API: IMS runs one image job per ECS at a time, so
    creates meant to run at once must not share an ECS."""
    server = emu.admin.add_server(status="SHUTOFF", data_volumes=[{"size": 10}])
    [data_volume] = [v["id"] for v in server["volumes"] if not v["system"]]
    volume = emu.admin.add_volume(size=40, os_version="CentOS 7.0 64bit")
    return Sources(ecs=server["id"], ecs_data_volume=data_volume, os_volume=volume["id"])


def inputs_for(kind: str, name: str, sources: Sources = SEEDED) -> dict[str, Any]:
    """Checked-valid inputs of each create path, every image named after ``name``."""
    if kind == "ecs":
        return {"name": name, "instance_id": sources.ecs, "description": "chaos"}
    if kind == "ecs_data":
        return {
            "name": name,
            "instance_id": sources.ecs,
            "data_images": [{"name": f"{name}-data", "volume_id": sources.ecs_data_volume}],
            "image_tags": {"team": "reliability"},
        }
    if kind == "obs":
        return {
            "name": name,
            "image_url": OBS_FILE,
            "min_disk": 40,
            "data_images": [{"name": f"{name}-data", "image_url": OBS_DATA_FILE, "min_disk": 20}],
        }
    if kind == "volume":
        return {"name": name, "volume_id": sources.os_volume, "os_version": "CentOS 7.0 64bit", "type": "ECS"}
    if kind == "data_only":
        return {"data_images": [{"name": name, "volume_id": sources.ecs_data_volume}]}
    raise ValueError(kind)


IMAGES_PER_KIND = {"ecs": 1, "ecs_data": 2, "obs": 2, "volume": 1, "data_only": 1}
KINDS = tuple(IMAGES_PER_KIND)


def images(emu: EmulatorServer) -> dict[str, dict[str, Any]]:
    return {img["id"]: img for img in emu.admin.state()["images"]}


def claim(emu: EmulatorServer, image: Mapping[str, Any]) -> str | None:
    """The claim the emulator holds for an image: the custom attribute, or the claim tag."""
    if image.get(CLAIM_ATTRIBUTE):
        return str(image[CLAIM_ATTRIBUTE])
    for tag in image.get("tags") or []:
        if isinstance(tag, str) and tag.startswith(CLAIM_TAG + "."):
            return tag[len(CLAIM_TAG) + 1 :]
    return None


def create_posts(emu: EmulatorServer) -> list[dict[str, Any]]:
    return [e for e in emu.admin.requests() if e["method"] == "POST" and e["path"] == CREATE_PATH]


def processed(entry: Mapping[str, Any]) -> bool:
    """The request reached IMS's logic and succeeded (answered 200, or processed and then dropped)."""
    return entry.get("status") == 200 or entry.get("processed_status") == 200


def attempt(call: Callable[..., Any], *args: Any) -> Any:
    """The call's result, or the exception it raised (for calls made on another thread)."""
    try:
        return call(*args)
    except Exception as exc:
        return exc


def killed_while_waiting(
    emu: EmulatorServer,
    config: Mapping[str, Any],
    name: str,
    program: Mapping[str, Any],
    serving: tuple[ResourceProvider, str] | None = None,
) -> None:
    """``pulumi up`` interrupted by a second Ctrl-C while IMS runs the job a create submitted: a host of its
    own (``config``; ``serving``: another provider and its type token than PrivateImage's) submits it, starts
    polling the job, and is killed. The engine got no answer, so nothing is in state."""
    first = DynamicProviderHost(dict(config))
    first.start()
    try:
        view = first.serving(*serving) if serving else first
        inputs = view.checked(name, dict(program))
        outcome: list[Any] = []
        call = threading.Thread(target=lambda: outcome.append(attempt(view.create, name, inputs)))
        call.start()
        wait_until(lambda: job_polled(emu), 30, "the first host submits the job and starts waiting")
        first.kill()
        call.join(timeout=30)
    finally:
        first.stop()
    assert isinstance(outcome[0], grpc.RpcError), outcome  # no answer reached the engine


def kill_mid_wait(
    emu: EmulatorServer, config: Mapping[str, str], name: str, program: Mapping[str, Any]
) -> str:
    """A PrivateImage create killed while IMS runs its job (:func:`killed_while_waiting`); returns the job's
    ID."""
    killed_while_waiting(emu, config, name, program)
    [job] = emu.admin.state()["jobs"]
    assert job["status"] in ("INIT", "RUNNING")  # the image is still being made
    return str(job["job_id"])


def job_polled(emu: EmulatorServer) -> bool:
    """Some host has polled a job (so it submitted one and is waiting)."""
    return any(e["path"].startswith("/v1/cloudimages/job/") for e in emu.admin.requests(method="GET"))


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll the emulator for a condition; fail the test if it never holds (no timing assertion)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


@dataclass
class Tracking:
    """What the resources track versus what the emulator holds."""

    tracked: dict[str, str]  # image id -> resource id tracking it
    double_tracked: list[str]
    untracked: list[str]  # images nobody tracks (orphans)
    missing: list[str]  # tracked ids the emulator does not have
    unclaimed: list[str]  # tracked images without the claim of their resource


def tracking(emu: EmulatorServer, resources: Iterable[tuple[str, Mapping[str, Any]]]) -> Tracking:
    """``resources``: (resource id, state) pairs as Create returned them."""
    tracked: dict[str, str] = {}
    double: list[str] = []
    for rid, state in resources:
        for image_id in [rid, *[str(i) for i in state.get("data_image_ids") or [] if str(i) != rid]]:
            if image_id in tracked:
                double.append(image_id)
            tracked[image_id] = rid
    live = images(emu)
    return Tracking(
        tracked=tracked,
        double_tracked=double,
        untracked=sorted(set(live) - set(tracked)),
        missing=sorted(set(tracked) - set(live)),
        unclaimed=sorted(i for i, rid in tracked.items() if i in live and claim(emu, live[i]) != rid),
    )


# --- fault plans and figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultKind:
    label: str
    spec: dict[str, Any]


FAULT_KINDS: tuple[FaultKind, ...] = (
    FaultKind("429 APIGW.0308", {"kind": "status", "status": 429}),
    FaultKind(
        "429 APIG.0308 + Retry-After",
        {"kind": "status", "status": 429, "error_code": "APIG.0308", "headers": {"Retry-After": "1"}},
    ),
    FaultKind("400 IMG.0060 flow control", {"kind": "status", "status": 400, "error_code": "IMG.0060"}),
    FaultKind("500 IMG.0061", {"kind": "status", "status": 500}),
    FaultKind("503", {"kind": "status", "status": 503}),
    FaultKind("connection dropped before processing", {"kind": "drop_before"}),
    FaultKind("connection dropped after processing", {"kind": "drop_after"}),
)
LATENCY = FaultKind("latency 0.3 s", {"kind": "latency", "latency": 0.3})


JOB_POLL_PATH = r"/v1/cloudimages/job/.*"


@dataclass
class InjectedFaults:
    """Fault id -> kind label, and which one-shot faults aim at the create POST and at a job poll."""

    kinds: dict[str, str] = field(default_factory=dict)
    on_post: set[str] = field(default_factory=set)
    on_poll: set[str] = field(default_factory=set)


def inject_chaos(emu: EmulatorServer, rate: float, seed: int) -> InjectedFaults:
    """Faults on every IMS route, each kind equally likely, ``rate`` of all requests hit in total; plus one
    sure hit of every kind on the create POST and on a job poll, so no kind goes untested by chance.

    The registry fires the first matching action fault, so each kind's probability is conditional on the
    ones before it not firing; latency is rolled independently (it delays, then the request goes on).
    """
    injected = InjectedFaults()
    ids = injected.kinds
    for kind in (*FAULT_KINDS, LATENCY):
        post = emu.admin.add_fault(method="POST", path=CREATE_PATH, count=1, **kind.spec)
        poll = emu.admin.add_fault(method="GET", path=JOB_POLL_PATH, count=1, **kind.spec)
        ids[post] = ids[poll] = kind.label
        injected.on_post.add(post)
        injected.on_poll.add(poll)
    n = len(FAULT_KINDS) + 1
    share = rate / n
    fired_before = 0.0
    for index, kind in enumerate(FAULT_KINDS):
        probability = share / (1.0 - fired_before)
        fired_before += share
        fid = emu.admin.add_fault(
            method="*", path=".*", probability=probability, seed=seed + index, **kind.spec
        )
        ids[fid] = kind.label
    fid = emu.admin.add_fault(method="*", path=".*", probability=share, seed=seed + n, **LATENCY.spec)
    ids[fid] = LATENCY.label
    return injected


@dataclass
class Figures:
    """The chaos run as numbers: faults by kind and where they hit, and what IMS was left holding."""

    resources: int = 0
    creates_ok: int = 0
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    on_create_post: Counter[str] = field(default_factory=Counter)
    on_job_poll: Counter[str] = field(default_factory=Counter)
    create_posts: int = 0
    jobs_started: int = 0
    images_expected: int = 0
    images_created: int = 0
    duplicated: int = 0
    orphaned: int = 0
    double_tracked: int = 0
    unclaimed: int = 0
    deletes_ok: int = 0
    left_after_delete: int = 0
    seconds: float = 0.0

    @property
    def adopted_after_loss(self) -> int:
        return self.on_create_post["connection dropped after processing"]

    @property
    def resent(self) -> int:
        kinds = ("connection dropped before processing", "500 IMG.0061", "503")
        return sum(self.on_create_post[k] for k in kinds)

    def table(self) -> str:
        labels = [k.label for k in FAULT_KINDS] + [LATENCY.label]
        out = ["| fault kind | injected | on the create POST | on job polls |", "|---|---:|---:|---:|"]
        for label in labels:
            counts = (self.faults[label], self.on_create_post[label], self.on_job_poll[label])
            out.append(f"| {label} | " + " | ".join(str(c) for c in counts) + " |")
        total = sum(self.faults.values())
        out.append(
            f"| **all** | **{total}** | **{sum(self.on_create_post.values())}** "
            f"| **{sum(self.on_job_poll.values())}** |"
        )
        survived = total if self.creates_ok == self.resources and self.left_after_delete == 0 else "n/a"
        summary: list[tuple[str, object]] = [
            ("IMS requests (create and delete phases)", self.requests),
            ("faults survived (every create and delete still succeeded)", survived),
            ("resources created / attempted", f"{self.creates_ok} / {self.resources}"),
            ("create POSTs sent / that started a job", f"{self.create_posts} / {self.jobs_started}"),
            ("create answers lost after IMS made the job: image found and adopted", self.adopted_after_loss),
            ("create requests failed ambiguously, nothing made: sent again after the search", self.resent),
            ("images expected / created", f"{self.images_expected} / {self.images_created}"),
            ("duplicated images (jobs beyond one per resource)", self.duplicated),
            ("orphaned images (in IMS, tracked by no resource)", self.orphaned),
            ("images tracked by more than one resource", self.double_tracked),
            ("tracked images without their resource's claim", self.unclaimed),
            ("resources deleted / images left after delete", f"{self.deletes_ok} / {self.left_after_delete}"),
            ("wall time", f"{self.seconds:.1f} s"),
        ]
        out += ["", "| figure | value |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in summary]
        return "\n".join(out)


def count_faults(
    figures: Figures, entries: Iterable[Mapping[str, Any]], fault_kinds: Mapping[str, str]
) -> None:
    """Add the request log's faults and create POSTs to ``figures``."""
    for entry in entries:
        figures.requests += 1
        label = fault_kinds.get(entry.get("fault") or "")
        is_post = entry["method"] == "POST" and entry["path"] == CREATE_PATH
        if label is not None:
            figures.faults[label] += 1
            if is_post:
                figures.on_create_post[label] += 1
            elif entry["method"] == "GET" and entry["path"].startswith("/v1/cloudimages/job/"):
                figures.on_job_poll[label] += 1
        if is_post:
            figures.create_posts += 1
            figures.jobs_started += processed(entry)


def count_latency(
    figures: Figures, injected: InjectedFaults, still_armed: Mapping[str, Mapping[str, Any]]
) -> None:
    """Latency faults delay a request but do not mark it in the request log: count their hits instead.

    A fault with a ``count`` disappears once it has fired, so an injected one-shot fault that is no longer
    armed fired once; the one-shot faults are the ones aimed at the create POST and at a job poll.
    """
    for fid, label in injected.kinds.items():
        if label != LATENCY.label:
            continue
        armed = still_armed.get(fid)
        if armed is not None:
            figures.faults[label] += int(armed.get("hits") or 0)
            continue
        figures.faults[label] += 1
        figures.on_create_post[label] += fid in injected.on_post
        figures.on_job_poll[label] += fid in injected.on_poll


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def secret_variants(secret: str) -> set[str]:
    """A secret as it could leak: as is, base64 (both alphabets), URL-quoted and hex-encoded."""
    raw = secret.encode()
    return {
        secret,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        quote(secret, safe=""),
        quote_plus(secret),
        raw.hex(),
    }


def leaked(secrets: Iterable[str], texts: Iterable[str]) -> list[str]:
    """The secrets that appear, in any of their forms, in the texts."""
    text = "\n".join(texts)
    return [s for s in secrets for v in secret_variants(s) if v in text]
