"""Creates that must not run side by side in this process wait their turn.

Two kinds of creates collide. Two that expect an image of the same name, source and kind could adopt each
other's image (see :mod:`ims_provider.recovery`); and IMS makes one image of an ECS, and of a disk, at a time
(``IMG.0010``, ``IMG.0139``). All dynamic resources of a stack share one host process, so a lock per image key
and per busy source (:attr:`~ims_provider.model.expected.RequestShape.keys`) keeps them apart; across
processes (two stacks) IMS's refusal is waited through instead (:mod:`ims_provider.create`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

__all__ = ["TURNS", "Turns"]


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    holder: str = ""


class Turns:
    """Per-key locks that disappear when nobody holds or waits for them, and know who holds them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._slots: dict[str, _Slot] = {}

    @contextmanager
    def _hold(
        self, key: str, who: str, timeout: float, waiting: Callable[[str, str], None]
    ) -> Iterator[bool]:
        with self._guard:
            slot = self._slots.setdefault(key, _Slot())
            slot.users += 1
        try:
            acquired = slot.lock.acquire(blocking=False)
            if not acquired:
                waiting(key, slot.holder)
                acquired = slot.lock.acquire(timeout=max(timeout, 0.0))
            if acquired:
                slot.holder = who
            try:
                yield acquired
            finally:
                if acquired:
                    slot.holder = ""
                    slot.lock.release()
        finally:
            with self._guard:
                slot.users -= 1
                if slot.users == 0:
                    del self._slots[key]

    @contextmanager
    def taken(
        self,
        keys: Sequence[str],
        who: str,
        timeout: float,
        waiting: Callable[[str, str], None] = lambda key, holder: None,
    ) -> Iterator[bool]:
        """Hold every key (taken in sorted order, so two creates never wait for each other); ``waiting`` is
        told the key and its holder before each wait. Yields False if they were not had within ``timeout``."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with ExitStack() as held:
            for key in sorted(keys):
                if not held.enter_context(self._hold(key, who, deadline - time.monotonic(), waiting)):
                    yield False
                    return
            yield True


TURNS = Turns()  # one per process: the host serves every dynamic resource of the stack
