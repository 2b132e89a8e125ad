"""Retry schedule of the outbox: exponential backoff with jitter, then give up.

With the defaults (``[delivery]``: 10 s initial, factor 2, cap 30 min, jitter +/-20 %, give up after 24 h)
the nominal delays after attempts 1, 2, 3, ... are 10 s, 20 s, 40 s, 80 s, 160 s, 320 s, 640 s, 1280 s, then
1800 s every time; each is multiplied by a factor drawn uniformly from [0.8, 1.2] so that many entries
failing together do not retry in lock-step ("thundering herd"). An entry whose next attempt would fall
after ``queued_at + give_up_after`` is ``dead`` instead (``dicomnode outbox resend ID`` revives it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from dicomnode.config import DeliverySection


@dataclass(frozen=True)
class Backoff:
    """The retry schedule (seconds)."""

    initial: float = 10.0
    factor: float = 2.0
    maximum: float = 1800.0
    jitter: float = 0.2
    give_up_after: float = 86400.0

    @classmethod
    def from_config(cls, section: DeliverySection) -> Backoff:
        return cls(
            initial=section.backoff_initial_seconds, factor=section.backoff_factor,
            maximum=section.backoff_max_seconds, jitter=section.backoff_jitter,
            give_up_after=section.give_up_after_seconds,
        )

    def nominal(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` failed attempts (>= 1), without jitter."""
        exponent = max(attempts - 1, 0)
        if self.factor > 1.0 and exponent > 64:  # far past the cap; avoid float overflow
            return self.maximum
        return min(self.maximum, self.initial * self.factor**exponent)

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """:meth:`nominal` times a random factor in [1 - jitter, 1 + jitter]."""
        draw = (rng or random).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return self.nominal(attempts) * draw

    def next_attempt(
        self, queued_at: datetime, attempts: int, now: datetime, rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts`` failures, or ``None`` to give up (the entry becomes dead)."""
        deadline = queued_at + timedelta(seconds=self.give_up_after)
        if now >= deadline:
            return None
        when = now + timedelta(seconds=self.delay(attempts, rng))
        return min(when, deadline) if when > deadline else when
