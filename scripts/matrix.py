"""The ends of the support range, tested: ``make test`` runs this beside the main suite.

pyproject.toml says which versions we support (``requires-python``, the Python classifiers, the ``pulumi``
bound). This runs the tests that depend on them (the provider through the real dynamic provider host, the
example programs, the unit tests) twice, side by side (they mostly wait on emulated jobs), each in its own
venv under ``.venv-matrix/``:

- ``lowest``: the lowest supported Python with the lowest supported pulumi SDK;
- ``newest``: the newest supported Python with the newest pulumi SDK that the bound allows.

A venv is built like a user's: each example's ``requirements.txt`` is installed from the example's
directory (as ``pulumi up`` does), then the project in editable mode with its ``test`` extra, all under a
constraint pinning pulumi. A venv is reused while pyproject.toml, the examples' requirements, the
interpreter and the pulumi version are unchanged. An interpreter this machine lacks is skipped with one line.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli on Python 3.10, so it is installed wherever the tests run
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
MATRIX_DIR = REPO / ".venv-matrix"
EXAMPLES_DIR = REPO / "examples"
# Everything that goes through the pulumi SDK or the Python runtime: the host-driven reliability tests
# check what a user sees in the host's error text (job ID, code, remedy, no secret).
TESTS = (
    "tests/unit",
    "tests/engine",
    "tests/examples",
    "tests/emulator/test_lookup.py",
    "tests/reliability/test_rel_secrets.py",
    "tests/reliability/test_rel_interrupt.py",
    "tests/reliability/test_rel_failed_jobs.py",
    "tests/reliability/test_rel_tls.py",
)
SUMMARY = re.compile(r"^=*\s*(\d+ \w+.* in [\d.]+s.*?)\s*=*$")


@dataclass(frozen=True)
class SupportRange:
    lowest_python: str  # "3.10"
    newest_python: str  # "3.13"
    pulumi_requirement: str  # "pulumi>=3.268,<4"
    lowest_pulumi: str  # "3.268.0"


@dataclass(frozen=True)
class Run:
    name: str
    python: str  # minor version, e.g. "3.10"
    pulumi: str | None  # exact version, or None for the newest the bound allows


@dataclass(frozen=True)
class Outcome:
    run: Run
    line: str
    mark: str  # "ok", "FAIL" or "skip"


def minor_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def support_range(pyproject: Path = REPO / "pyproject.toml") -> SupportRange:
    """The one place the range is written is pyproject.toml; read it from there."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lowest = re.fullmatch(r">=\s*(3\.\d+)", project["requires-python"])
    minors = [
        c.rsplit("::", 1)[1].strip()
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    requirement = next(d for d in project["dependencies"] if re.match(r"pulumi\s*[<>=!~]", d))
    lowest_pulumi = re.search(r">=\s*([\d.]+)", requirement)
    if lowest is None or not minors or lowest_pulumi is None:
        raise SystemExit("matrix: pyproject.toml lacks requires-python >=3.X, Python classifiers or pulumi>=")
    pin = lowest_pulumi.group(1) + ".0" * (2 - lowest_pulumi.group(1).count("."))  # 3.268 -> 3.268.0
    return SupportRange(lowest.group(1), max(minors, key=minor_key), requirement.replace(" ", ""), pin)


def interpreter_version(python: Path | str) -> str | None:
    """The full version of an interpreter that actually runs (a pyenv shim for a version that is not
    selected exits non-zero)."""
    try:
        done = subprocess.run(
            [str(python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(minor: str) -> tuple[Path, str] | None:
    """The newest CPython ``minor``.x that pyenv has, else ``python<minor>`` on PATH."""
    candidates: list[Path] = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout.split()
        for version in sorted(
            (v for v in listed if re.fullmatch(rf"{re.escape(minor)}\.\d+", v)), key=minor_key, reverse=True
        ):
            prefix = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True).stdout.strip()
            if prefix:
                candidates.append(Path(prefix) / "bin" / f"python{minor}")
    on_path = shutil.which(f"python{minor}")
    if on_path:
        candidates.append(Path(on_path))
    for python in candidates:
        found = interpreter_version(python)
        if found and minor_key(found)[:2] == minor_key(minor):
            return python, found
    return None


def newest_pulumi(python: Path, requirement: str) -> str:
    """The version pip picks today for the pulumi bound (one metadata lookup), with the run's interpreter,
    or with this one where that interpreter has no pip of its own."""
    dry_run = ["install", "--disable-pip-version-check", "--quiet", "--dry-run", "--no-deps"]
    dry_run += ["--ignore-installed", "--report", "-", requirement]
    errors = ""
    for interpreter in (str(python), sys.executable):
        done = subprocess.run([interpreter, "-m", "pip", *dry_run], capture_output=True, text=True)
        if done.returncode == 0:
            return str(json.loads(done.stdout)["install"][0]["metadata"]["version"])
        errors += done.stderr
    raise BuildError(f"could not resolve {requirement}:\n{errors}")


def example_requirements() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*/requirements.txt"))


def venv_key(python_version: str, pulumi: str) -> str:
    digest = hashlib.sha256(f"{python_version}\n{pulumi}\n".encode())
    for path in [REPO / "pyproject.toml", *example_requirements()]:
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class BuildError(Exception):
    """An install step of a run's venv failed; the run is a FAIL line, not the end of the matrix."""


def quiet_run(command: list[str], cwd: Path) -> None:
    """Run an install step; its output is shown only when it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout + done.stderr)
        raise BuildError(f"failed ({done.returncode}): {' '.join(command)}")


def build_venv(name: str, python: Path, python_version: str, pulumi: str) -> tuple[Path, str]:
    """The run's venv (reused when its key matches) and how it was obtained."""
    venv = MATRIX_DIR / name
    stamp = venv / ".matrix-key"
    key = venv_key(python_version, pulumi)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        return venv, "reused"
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    quiet_run([str(python), "-m", "venv", str(venv)], cwd=REPO)
    constraints = venv / "constraints.txt"
    constraints.write_text(f"pulumi=={pulumi}\n", encoding="utf-8")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    pip += ["-c", str(constraints)]
    # Like `pulumi up`: requirements from the example's directory (their `../..` is the checkout). All the
    # examples sit at the same depth, so one pip run from any of them installs every file.
    files = example_requirements()
    quiet_run([*pip, *(arg for f in files for arg in ("-r", str(f)))], cwd=files[0].parent)
    quiet_run([*pip, "-e", ".[test]"], cwd=REPO)
    stamp.write_text(key, encoding="utf-8")
    (venv / PULUMI_RECORD).write_text(pulumi, encoding="utf-8")
    return venv, f"built in {time.monotonic() - started:.0f} s"


def start_tests(name: str, venv: Path) -> tuple[subprocess.Popen[str], Path]:
    """Start the matrix tests in ``venv``, their output going to a log beside it (shown when they end)."""
    log = venv / "pytest.log"
    command = [str(venv / "bin" / "python"), "-m", "pytest", *TESTS, "-q", "-p", "no:cacheprovider"]
    command += ["--basetemp", str(venv / "pytest-tmp")]  # each run its own: the runs go side by side
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True)
    return process, log


def summary_of(log: Path) -> str:
    summary = "no pytest summary line"
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = SUMMARY.match(line.strip())
        if match:
            summary = match.group(1)
    return summary


@dataclass(frozen=True)
class Prepared:
    run: Run
    title: str
    venv: Path
    how: str


PULUMI_RECORD = ".matrix-pulumi"  # the pulumi version a venv was built with


def recorded_pulumi(name: str) -> str | None:
    record = MATRIX_DIR / name / PULUMI_RECORD
    if not record.is_file():
        return None
    return record.read_text(encoding="utf-8").strip() or None


def prepare(run: Run, support: SupportRange, *, prepared: bool = False) -> Prepared | Outcome:
    """The run's interpreter and venv, or a skip when the machine lacks the interpreter (a FAIL when its
    venv cannot be built). ``prepared``: ``--prepare`` has just built the venvs, so the newest pulumi is
    not asked for again (a new answer would rebuild a venv while the main suite builds a wheel)."""
    found = find_python(run.python)
    if found is None:
        line = f"SKIP: no CPython {run.python} here (not in `pyenv versions`, no python{run.python} on PATH)"
        print(f"\n=== matrix {run.name}: {line}", flush=True)
        return Outcome(run, line, "skip")
    python, python_version = found
    pulumi = run.pulumi or (recorded_pulumi(run.name) if prepared else None)
    try:
        pulumi = pulumi or newest_pulumi(python, support.pulumi_requirement)
        title = f"CPython {python_version}, pulumi {pulumi}"
        venv, how = build_venv(run.name, python, python_version, pulumi)  # one at a time: `pip -e .`
    except BuildError as exc:
        line = f"CPython {python_version}: the venv could not be built: {exc}"
        print(f"\n=== matrix {run.name}: {line}", flush=True)
        return Outcome(run, line, "FAIL")
    print(f"matrix {run.name}: {title} ({python}), venv .venv-matrix/{run.name} {how}", flush=True)
    return Prepared(run, title, venv, how)


def run_side_by_side(prepared: list[Prepared]) -> list[Outcome]:
    """The runs' tests at once (they mostly wait on emulated jobs, so two fit the CI's time), each one's
    output shown whole, in order, once all have ended."""
    started = time.monotonic()
    running = [(p, *start_tests(p.run.name, p.venv)) for p in prepared]
    codes = [process.wait() for _, process, _ in running]
    took = time.monotonic() - started
    outcomes = []
    for (p, _, log), code in zip(running, codes, strict=True):
        print(f"\n=== matrix {p.run.name}: {p.title} ({p.venv}) ===", flush=True)
        sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
        line = f"{p.title}: {summary_of(log)} (side by side: {took:.0f} s for all runs; venv {p.how})"
        outcomes.append(Outcome(p.run, line, "ok" if code == 0 else "FAIL"))
    return outcomes


def main() -> int:
    support = support_range()
    runs = (
        Run("lowest", support.lowest_python, support.lowest_pulumi),
        Run("newest", support.newest_python, None),
    )
    args = sys.argv[1:]
    ready = [prepare(run, support, prepared="--prepared" in args) for run in runs]
    if "--prepare" in args:  # venvs only: `make test` then runs the tests beside the main suite (--prepared)
        return 1 if any(isinstance(o, Outcome) and o.mark == "FAIL" for o in ready) else 0
    skipped = {o.run: o for o in ready if isinstance(o, Outcome)}
    ran = {o.run: o for o in run_side_by_side([p for p in ready if isinstance(p, Prepared)])}
    outcomes = [skipped.get(run) or ran[run] for run in runs]
    print("\n=== matrix summary ===")
    for outcome in outcomes:
        print(f"{outcome.mark:<4} {outcome.run.name:<7} {outcome.line}")
    return 1 if any(o.mark == "FAIL" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
