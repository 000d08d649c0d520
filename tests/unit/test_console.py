"""Lines from concurrent operations never run into each other."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ims_provider.console import write_line


class Recorder(io.StringIO):
    """A stream that keeps every write apart and lets other threads in between writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.writes.append(text)
        threading.Event().wait(0.001)  # a slow pipe: other threads get their turn
        return len(text)


def test_each_line_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Recorder()
    monkeypatch.setattr("sys.stderr", stream)
    lines = [f"ims: image-{i}: 40% (CreateImageTask), 1m02s elapsed" for i in range(64)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write_line, lines))
    assert sorted(stream.writes) == sorted(line + "\n" for line in lines)
