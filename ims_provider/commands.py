"""The console scripts: ``ims-emulator`` (and, from here, what else the package runs from a shell).

They live outside ``ims_provider.emulator`` so that a missing optional dependency is a sentence that says
what to install, not a traceback: the emulator needs werkzeug, which only the ``emulator`` extra installs.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

EMULATOR_HINT = (
    "ims-emulator needs werkzeug, which the package's `emulator` extra installs: "
    "pip install 'ims-provider[emulator]' (from a checkout: pip install '/path/to/ims-provider[emulator]'), "
    "or pip install werkzeug"
)


def emulator(argv: Sequence[str] | None = None) -> int:
    """``ims-emulator``: run the local IMS (see ims_provider/emulator/README.md)."""
    if importlib.util.find_spec("werkzeug") is None:
        print(f"ims-emulator: {EMULATOR_HINT}", file=sys.stderr)
        return 2
    from ims_provider.emulator.cli import main

    return main(argv)
