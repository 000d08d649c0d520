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
