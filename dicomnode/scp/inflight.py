"""SOP Instance UIDs being stored right now: a second copy waits for the first copy's outcome.

Re-sending is idempotent (DESIGN.md): a copy of an instance already stored is a duplicate, acknowledged
without being stored again. A copy that arrives while the first one is still being written or committed
must not be acknowledged on the strength of that first copy (its row can be committed before its file is
durable, and either can still fail and be undone), nor race it for the final path: :meth:`InFlight.claim` makes it wait until the first copy has
been acknowledged (then it is a duplicate) or has failed (then it is stored in its own right).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class InFlight:
    """One claim per SOP Instance UID at a time, within this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: dict[str, threading.Event] = {}

    @contextmanager
    def claim(self, sop_instance_uid: str) -> Iterator[None]:
        """Hold the UID for the body of the ``with`` block, after the holder before has let it go."""
        while True:
            with self._lock:
                held = self._claims.get(sop_instance_uid)
                if held is None:
                    mine = self._claims[sop_instance_uid] = threading.Event()
                    break
            held.wait()
        try:
            yield
        finally:
            with self._lock:
                del self._claims[sop_instance_uid]
            mine.set()
