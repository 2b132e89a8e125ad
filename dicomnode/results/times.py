"""The time every result object carries: the job's creation, never the time of writing.

Shared by every pipeline's writers, so that re-building a job's results gives byte-identical objects
(Content, Series, Instance Creation Date/Time and Contribution DateTime from the job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from pydicom.dataset import Dataset


@dataclass(frozen=True)
class Moment:
    """The job's creation time in UTC, to the second: Content and Series Date/Time of every object."""

    day: date
    clock: time

    @property
    def da(self) -> str:
        """As a DA value (PS3.5 6.2), YYYYMMDD."""
        return self.day.strftime("%Y%m%d")

    @property
    def tm(self) -> str:
        """As a TM value (PS3.5 6.2), HHMMSS."""
        return self.clock.strftime("%H%M%S")


def job_moment(created_at: datetime | None) -> Moment | None:
    """Content and Series Date/Time (PS3.3 C.7.6.1, C.7.3.1) from the job's creation time, in UTC.

    None without a time (highdicom then writes the current time: only for ad-hoc use).
    """
    if created_at is None:
        return None
    moment = created_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return Moment(moment.date(), moment.time().replace(tzinfo=None, microsecond=0))


def pin_times(ds: Dataset, created_at: datetime | None) -> None:
    """Replace every "now" highdicom wrote into ``ds`` by the job's time (nothing without one).

    Instance Creation Date/Time (PS3.3 C.12.1), Contribution DateTime of the Contributing Equipment
    (C.12.1.1.4) and the Timezone Offset From UTC: with them the object depends on the job alone.
    """
    moment = job_moment(created_at)
    if moment is None:
        return
    day, clock = moment.da, moment.tm
    ds.InstanceCreationDate, ds.InstanceCreationTime = day, clock
    for item in ds.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:
            item.ContributionDateTime = f"{day}{clock}+0000"
    ds.TimezoneOffsetFromUTC = "+0000"
