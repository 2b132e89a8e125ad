"""The two completeness rules on hand-made series activity (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from db.series import CarrierState, SeriesActivity
from dicomnode.assembly.readiness import evaluate

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)


def activity(*carriers: CarrierState, last: datetime = T0, unknown: bool = False) -> SeriesActivity:
    return SeriesActivity("1.2", "1.2.3", 10, 10, last, None, 0, carriers, unknown)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_released_association_is_ready_after_grace() -> None:
    series = activity(CarrierState(1, "released", at(0.1), 10))
    assert evaluate(series, at(0.2), quiet_seconds=5, grace_seconds=1) is None
    ready = evaluate(series, at(1.1), quiet_seconds=5, grace_seconds=1)
    assert ready is not None and ready.rule == "released" and ready.association_id == 1


def test_open_association_waits_for_quiet() -> None:
    series = activity(CarrierState(1, "open", None, 10))
    assert evaluate(series, at(4.9), quiet_seconds=5, grace_seconds=1) is None
    ready = evaluate(series, at(5.0), quiet_seconds=5, grace_seconds=1)
    assert ready is not None and ready.rule == "quiet"


def test_another_open_carrier_blocks_the_release_rule() -> None:
    series = activity(CarrierState(2, "open", None, 4), CarrierState(1, "released", at(0), 10))
    assert evaluate(series, at(2), quiet_seconds=5, grace_seconds=1) is None


def test_aborted_association_counts_only_through_quiet() -> None:
    series = activity(CarrierState(1, "aborted", at(0), 10))
    assert evaluate(series, at(2), quiet_seconds=5, grace_seconds=1) is None
    assert evaluate(series, at(5), quiet_seconds=5, grace_seconds=1) is not None


def test_instance_after_release_restarts_the_wait() -> None:
    series = activity(CarrierState(1, "released", at(0), 10), last=at(0.5))
    assert evaluate(series, at(1.2), quiet_seconds=5, grace_seconds=1) is None


def test_unknown_carrier_counts_only_through_quiet() -> None:
    series = activity(CarrierState(1, "released", at(0), 10), unknown=True)
    assert evaluate(series, at(2), quiet_seconds=5, grace_seconds=1) is None
