"""The retry schedule: 10 s doubling to 30 min with jitter, then dead after the give-up time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from dicomnode.config import DeliverySection
from dicomnode.delivery.backoff import Backoff

T0 = datetime(2026, 11, 21, tzinfo=timezone.utc)


def test_nominal_delays_double_up_to_the_cap() -> None:
    backoff = Backoff.from_config(DeliverySection())
    assert [backoff.nominal(n) for n in range(1, 11)] == [10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800]
    assert backoff.nominal(10_000) == 1800


def test_jitter_stays_within_its_band_and_varies() -> None:
    backoff = Backoff(jitter=0.2)
    rng = random.Random(1)
    delays = [backoff.delay(3, rng) for _ in range(200)]
    assert all(32.0 <= d <= 48.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100


def test_gives_up_after_the_configured_total() -> None:
    backoff = Backoff(initial=10, give_up_after=3600, jitter=0.0)
    assert backoff.next_attempt(T0, 1, T0 + timedelta(seconds=5)) == T0 + timedelta(seconds=15)
    # the last retry is clamped to the deadline, after it the entry is dead
    assert backoff.next_attempt(T0, 9, T0 + timedelta(seconds=3500)) == T0 + timedelta(seconds=3600)
    assert backoff.next_attempt(T0, 10, T0 + timedelta(seconds=3600)) is None
