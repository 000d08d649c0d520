"""``ims-provider try <example>``: an example run offline, against a bundled emulator, then undone.

For a machine with no Pulumi CLI (offline, behind a proxy, a locked-down CI): the program runs under
Pulumi's mock runtime (:mod:`ims_provider.mockrun`) with the real providers, which make their images for real
in an ``ims-emulator`` started for the run, serving two regions and two accounts. It prints the stack's
outputs and the images the emulator holds, deletes everything through the providers, and succeeds only when
images were made and none is left. A project in a subdirectory (``consumer/``) runs after the one above
it, as the emulator's second account, its ``pulumi.StackReference`` answered with the first one's outputs.

It is a dry run of the provider: no engine, no state, nothing deployed anywhere.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ims_provider.mockrun import (
    DYNAMIC_TYPE_PREFIX,
    ECS_TYPE,
    EcsEmulation,
    ProgramMocks,
    Registered,
    project_name,
    run_program,
)

__all__ = ["BASE_IMAGE_ID", "TRYOUT_STACK", "Trial", "emulated_config", "main", "stacks_of", "try_example"]

TRYOUT_STACK = "tryout"
REGIONS = ("cn-north-4", "cn-south-1")  # the emulator's home region first; copies go to the second
# A public image ECS knows and IMS does not: what the examples' builder ECSs start from.
BASE_IMAGE_ID = "a8b7c6d5-0000-4f00-8e00-00000000c079"
BASE_IMAGE_OS = "CentOS 7.9 64bit"
DEFAULT_JOB_SECONDS = 3.0


# Values the examples' required config keys take in the emulated world (keys unprefixed; each program reads
# them in its own namespace). Keys with defaults in the programs are not here: the defaults suit the emulator.
EMULATED_CONFIG: Mapping[str, Callable[[Any], str]] = {
    "subnetId": lambda emu: "tryout-subnet",  # the ECS emulation takes any network
    "baseImageId": lambda emu: BASE_IMAGE_ID,
    "copyRegion": lambda emu: emu.regions[1],
    "agencyName": lambda emu: emu.account().agencies[0],
    "consumerProjectId": lambda emu: emu.project_for(emu.regions[1], _accounts()[1]),
}


def _accounts() -> tuple[str, str]:
    """The emulator's first and second account, by name (imported late: the emulator is an extra)."""
    from ims_provider.emulator.accounts import DEFAULT_ACCOUNT, MEMBER_ACCOUNT

    return DEFAULT_ACCOUNT, MEMBER_ACCOUNT


def stacks_of(directory: Path) -> list[Path]:
    """The project in ``directory``, then each project in its subdirectories (by name), run in that order."""
    nested = sorted(p.parent for p in directory.glob("*/Pulumi.yaml"))
    return [directory, *nested]


def stack_name(directory: Path) -> str:
    """The fully qualified name a ``pulumi.StackReference`` gives the trial stack of ``directory``."""
    return f"organization/{project_name(directory)}/{TRYOUT_STACK}"


def emulated_config(emu: Any, directory: Path, *, account: str, progress: bool = True) -> dict[str, str]:
    """The stack config of one project of a trial: the provider's keys pointing at the emulator as
    ``account``, and the program's required keys (:data:`EMULATED_CONFIG`)."""
    identity = emu.account(account)
    home = emu.regions[0]
    config = {
        "ims:endpoint": emu.url_for(home),
        "ims:region": home,
        "ims:accessKey": identity.access_key,
        "ims:secretKey": identity.secret_key,
        "ims:regionEndpoints": json.dumps({r: emu.url_for(r) for r in emu.regions[1:]}),
        "ims:pollDelay": "0.5",
        "ims:progress": "true" if progress else "false",
    }
    project = project_name(directory)
    for key, value in EMULATED_CONFIG.items():
        config[f"{project}:{key}"] = value(emu)
    return config


@dataclass
class StackRun:
    """One project of a trial: its mocks (what it registered) and its outputs."""

    directory: Path
    mocks: ProgramMocks
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trial:
    """The projects of one example run against one emulator; :meth:`undo` deletes what they made."""

    emu: Any
    progress: bool = True
    runs: list[StackRun] = field(default_factory=list)

    def run(self, directory: Path, extra_config: Mapping[str, str] | None = None) -> StackRun:
        account = _accounts()[0] if not self.runs else _accounts()[1]
        config = {**emulated_config(self.emu, directory, account=account, progress=self.progress)}
        project = project_name(directory)
        for before in self.runs:  # a consumer names its producer's stack
            config.setdefault(f"{project}:producerStack", stack_name(before.directory))
        config.update(extra_config or {})
        ecs = EcsEmulation(self.emu.admin, {BASE_IMAGE_ID: BASE_IMAGE_OS})
        stacks = {stack_name(r.directory): r.outputs for r in self.runs}
        mocks = ProgramMocks(config, project, handlers={ECS_TYPE: ecs}, stacks=stacks)
        current = StackRun(directory, mocks)
        self.runs.append(current)
        current.outputs = run_program(directory, mocks, config, stack=TRYOUT_STACK)
        return current

    def undo(self) -> list[Registered]:
        """Delete every project's resources, the last project's first."""
        deleted: list[Registered] = []
        for run in reversed(self.runs):
            deleted += run.mocks.destroy()
        return deleted

    def images(self) -> list[tuple[str, dict[str, Any]]]:
        """(region, image) for every image the emulator holds, in every region."""
        return [
            (region, image) for region in self.emu.regions for image in self.emu.admin.state(region)["images"]
        ]


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _kind(resource: Registered) -> str:
    """``PrivateImage`` for this package's resources, the type token for others."""
    dynamic = resource.typ.startswith(DYNAMIC_TYPE_PREFIX)
    return resource.typ.rsplit(":", 1)[-1] if dynamic else resource.typ


def _report(run: StackRun, say: Callable[[str], None]) -> None:
    for resource in run.mocks.resources:
        say(f"   {_kind(resource)} {resource.name}: {resource.id}")
    say("   outputs:")
    for key, value in run.outputs.items():
        say(f"     {key} = {_shown(value)}")


def _images(trial: Trial, say: Callable[[str], None]) -> int:
    images = trial.images()
    for region, image in images:
        say(f"   {region}  {image['id']}  {image['name']!r}  {image['status']}  owner {image['owner']}")
    return len(images)


def namespaced(directory: Path, values: Mapping[str, str]) -> dict[str, str]:
    """Config values as ``pulumi config set`` stores them: a key without a namespace is the project's."""
    project = project_name(directory)
    return {key if ":" in key else f"{project}:{key}": value for key, value in values.items()}


def try_example(
    directory: Path,
    *,
    job_seconds: float = DEFAULT_JOB_SECONDS,
    progress: bool = True,
    config: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``directory``'s projects against a fresh emulator, print what they made, undo it; 0 only when
    the programs ran, images were made, and every one of them is gone again. ``config`` (``key: value``, a
    key without namespace being the project's own) is given to every project, over the emulated values."""
    from ims_provider.emulator import EmulatorServer

    directory = directory.resolve()

    def say(line: str) -> None:
        print(line, file=out or sys.stdout, flush=True)

    say(
        f"ims-provider try {directory.name}: a DRY RUN of the provider. The program runs under Pulumi's mock "
        "runtime and deploys nothing; its images are made, and then deleted, in a local ims-emulator."
    )
    with EmulatorServer(port=0, regions=REGIONS, job_seconds=job_seconds) as emu:
        say("ims-emulator: " + ", ".join(f"{r} at {emu.url_for(r)}" for r in emu.regions))
        trial = Trial(emu, progress=progress)
        ran = False
        try:
            for project_dir in stacks_of(directory):
                who = "first account" if not trial.runs else "second account (the consumer)"
                where = project_dir.relative_to(directory.parent)
                say(f"\n== {project_name(project_dir)} ({where}), as the emulator's {who}")
                _report(trial.run(project_dir, namespaced(project_dir, config or {})), say)
            ran = True
        except ModuleNotFoundError as exc:
            say(f"\nthe program needs {exc.name}: pip install -r {directory / 'requirements.txt'}")
        except Exception as exc:  # the run's own error (a CheckFailedError names each property), then undo
            say(f"\nthe program failed: {type(exc).__name__}: {exc}")
        say("\nimages in the emulator:")
        made = _images(trial, say)
        say("\ndeleting what the run made (as pulumi destroy would):")
        try:
            for resource in trial.undo():
                say(f"   deleted {_kind(resource)} {resource.name} ({resource.id})")
        except Exception as exc:
            say(f"   a delete failed: {type(exc).__name__}: {exc}")
            return 1
        say("images left in the emulator:")
        if _images(trial, say):
            return 1
        say("   none")
        if not ran or not made:
            say("the program made no image" if ran else "the run failed (see above)")
            return 1
        say(f"\ndone: {made} image(s) made and deleted; nothing was deployed.")
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``ims-provider try <example directory>``."""
    parser = argparse.ArgumentParser(
        prog="ims-provider try",
        description="Run an example program with no Pulumi CLI: Pulumi's mock runtime, the real provider, "
        "a local ims-emulator; print what it made, then delete it.",
    )
    parser.add_argument("directory", type=Path, help="a Pulumi project, e.g. examples/quickstart")
    parser.add_argument(
        "--job-seconds", type=float, default=DEFAULT_JOB_SECONDS, help="how long each emulated IMS job takes"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines from the provider")
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a stack config value, as `pulumi config set KEY VALUE` (a key without namespace is the "
        "project's); repeatable",
    )
    args = parser.parse_args(argv)
    values: dict[str, str] = {}
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            parser.error(f"--config takes KEY=VALUE, got {item!r}")
        values[key.strip()] = value
    # A program that fails leaves pulumi's own Output coroutines unawaited; their collection is not news.
    warnings.filterwarnings("ignore", r"coroutine 'Output\.", RuntimeWarning)
    if importlib.util.find_spec("werkzeug") is None:
        from ims_provider.commands import EMULATOR_HINT

        print(f"ims-provider try: {EMULATOR_HINT}", file=sys.stderr)
        return 2
    if not (args.directory / "Pulumi.yaml").is_file():
        print(
            f"ims-provider try: {args.directory} has no Pulumi.yaml (try examples/quickstart)",
            file=sys.stderr,
        )
        return 2
    return try_example(args.directory, job_seconds=args.job_seconds, progress=not args.quiet, config=values)
