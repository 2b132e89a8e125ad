"""The two completeness rules of a series, evaluated on facts gathered from the database.

A series is ready when either

- ``quiet``: no new instance of it arrived for ``assembly.quiet_seconds`` (catches senders that keep
  associations open), or
- ``released``: the association that carried its newest instance was released normally (A-RELEASE,
  PS3.8 7.2), every other association that carried its new instances has ended, and
  ``assembly.release_grace_seconds`` passed since the release with no new instance on any association.

An aborted or interrupted association only counts through the quiet rule: the sender may retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from db.series import SeriesActivity


@dataclass(frozen=True)
class Readiness:
    """Why a series is ready: ``rule`` is ``released``, ``quiet`` or ``partner`` (judged again because a
    late series of its study completes its inputs, :mod:`dicomnode.assembly.assembler`); ``message`` says it
    in words."""

    rule: str
    message: str
    association_id: int | None = None


def evaluate(activity: SeriesActivity, now: datetime, quiet_seconds: float, grace_seconds: float) -> Readiness | None:
    """The rule that makes ``activity``'s series ready at ``now``, or None while it may still grow."""
    released = _released(activity, now, grace_seconds)
    if released is not None:
        return released
    idle = (now - activity.last_received_at).total_seconds()
    if idle >= quiet_seconds:
        return Readiness("quiet", f"no new instance for {idle:.1f} s (assembly.quiet_seconds = {quiet_seconds:g})")
    return None


def _released(activity: SeriesActivity, now: datetime, grace_seconds: float) -> Readiness | None:
    if not activity.carriers or activity.unknown_carrier:
        return None
    last = activity.carriers[-1]
    if last.outcome != "released" or last.ended_at is None:
        return None
    if any(carrier.ended_at is None for carrier in activity.carriers):
        return None  # another association still carries instances of this series
    if activity.last_received_at > last.ended_at or now < last.ended_at + timedelta(seconds=grace_seconds):
        return None
    return Readiness(
        "released",
        f"association {last.association_id} released and {grace_seconds:g} s grace passed "
        "(assembly.release_grace_seconds) with no new instance",
        association_id=last.association_id,
    )
