"""docs/architecture.md stays true: every module it names exists, and every module of the package is named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGE = ROOT / "ims_provider"


def _named_modules() -> set[str]:
    """Module file names the document mentions (``create.py``, ``model/schema.py`` as ``schema.py``)."""
    return set(re.findall(r"\b([a-z_]+\.py)\b", ARCHITECTURE))


def test_every_module_the_architecture_names_exists() -> None:
    existing = {path.name for path in PACKAGE.rglob("*.py")}
    missing = sorted(_named_modules() - existing)
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_module_of_the_provider_is_in_the_architecture() -> None:
    modules = {
        path.name
        for path in PACKAGE.rglob("*.py")
        if "emulator" not in path.parts and path.name not in ("__main__.py",)
    }
    unnamed = sorted(modules - _named_modules())
    assert unnamed == [], f"docs/architecture.md does not say what these modules own: {unnamed}"


DOCUMENTS = (
    "README.md",
    "docs/reliability.md",
    "docs/recovery.md",
    "docs/performance.md",
    "examples/README.md",
    "docs/architecture.md",
    "ims_provider/emulator/README.md",
)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"(?m)^#{1,6} (.+)$", markdown)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_of_the_docs_resolves() -> None:
    """Links to files that exist, and to headings they have (the docs moved between pages once)."""
    broken = []
    for document in DOCUMENTS:
        source = ROOT / document
        for link in re.findall(r"\]\(([^)\s]+)\)", source.read_text(encoding="utf-8")):
            if link.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = link.partition("#")
            target = (source.parent / path).resolve() if path else source
            if not target.exists():
                broken.append(f"{document}: {link} (no such file)")
            elif (
                anchor
                and target.suffix == ".md"
                and anchor not in _anchors(target.read_text(encoding="utf-8"))
            ):
                broken.append(f"{document}: {link} (no such heading)")
    assert broken == []
