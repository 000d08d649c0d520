"""The console scripts: ``ims-emulator`` and ``ims-provider`` (its ``try`` command).

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


USAGE = """usage: ims-provider <command> ...

commands:
  try <directory>   run an example program with no Pulumi CLI, against a local ims-emulator (a dry run:
                    Pulumi's mock runtime, the real provider), print what it made, then delete it
"""


def main(argv: Sequence[str] | None = None) -> int:
    """``ims-provider``: the package's user commands (today: ``try``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "try":
        from ims_provider.tryout import main as try_main

        return try_main(rest)
    print(f"ims-provider: unknown command {command!r}\n{USAGE}", end="", file=sys.stderr)
    return 2
