"""Lines for the person running ``pulumi up``: the host's stderr, which the CLI shows as info messages.

Many operations of a stack write at once (progress of every image wait, warnings), so each line goes out in
one write under a lock: ``print`` writes the text and the newline separately, and lines from two threads
could otherwise run into each other.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["write_line"]

_lock = threading.Lock()


def write_line(line: str) -> None:
    """Write ``line`` and a newline to stderr as one piece, and flush."""
    with _lock:
        stream = sys.stderr
        stream.write(line + "\n")
        stream.flush()
