"""Rate-limited reporting of refused connections, so that a flood of junk cannot flood the audit log.

Each source host may produce ``burst`` audit rows (and warning log lines) per ``window`` seconds, and all
hosts together ``10 x burst``; refusals beyond that are counted, and the next row written for that host
carries ``detail.suppressed``, the number of refusals it stands for that were not written one by one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Window:
    started: float
    written: int = 0
    suppressed: int = 0


@dataclass
class RefusalLimiter:
    """Decides which refusals are written; ``clock`` is injectable for tests of the window."""

    burst: int = 10
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _hosts: dict[str, _Window] = field(default_factory=dict)
    _total: _Window = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._total = _Window(self.clock())

    def admit(self, host: str) -> int | None:
        """None when this refusal is not to be written; else how many earlier ones were suppressed."""
        now = self.clock()
        with self._lock:
            if now - self._total.started >= self.window:
                self._total = _Window(now)
            current = self._hosts.get(host)
            if current is None or now - current.started >= self.window:
                carried = current.suppressed if current is not None else 0
                current = self._hosts[host] = _Window(now, suppressed=carried)
                if len(self._hosts) > 10_000:  # forget idle hosts, keep the table small
                    self._hosts = {h: w for h, w in self._hosts.items() if now - w.started < self.window}
            if current.written >= self.burst or self._total.written >= 10 * self.burst:
                current.suppressed += 1
                return None
            current.written += 1
            self._total.written += 1
            suppressed, current.suppressed = current.suppressed, 0
            return suppressed
