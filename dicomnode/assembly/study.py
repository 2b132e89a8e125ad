"""The other series of a ready series' study, for pipelines that read more than one series (e.g. SWI
magnitude and phase): their headers, whether each is complete and what its latest jobs read, read from
storage on first use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from db.engine import READ_ONLY
from db.jobs import judged_inputs
from db.series import pending_series, series_instances, study_series
from dicomnode.assembly.headers import read_headers
from dicomnode.assembly.readiness import evaluate
from dicomnode.config import AssemblySection
from dicomnode.pipelines.base import OtherSeries


class StoredStudy:
    """The study of ``series_uid`` as stored now (:class:`dicomnode.pipelines.base.Study`).

    A series counts as complete when the assembly rules call it ready at ``now`` (quiet, or its
    association released and the grace over) or when a job already covers every instance it has.
    """

    def __init__(
        self, sessions: sessionmaker[Session], study_uid: str, series_uid: str, now: datetime,
        assembly: AssemblySection,
    ) -> None:
        self.sessions = sessions
        self.study_uid = study_uid
        self.series_uid = series_uid
        self.now = now
        self.assembly = assembly
        self._others: list[OtherSeries] | None = None

    def other_series(self) -> list[OtherSeries]:
        """Every other series of the study with stored instances, in arrival order (read once)."""
        if self._others is None:
            self._others = self._read()
        return self._others

    def _read(self) -> list[OtherSeries]:
        with self.sessions() as session:
            session.connection(execution_options=READ_ONLY)
            series = [(uid, top) for uid, top in study_series(session, self.study_uid) if uid != self.series_uid]
            pending = {activity.series_uid: activity for activity in pending_series(session, [u for u, _ in series])}
            refs = {uid: series_instances(session, uid, top) for uid, top in series}
            judged = judged_inputs(session, [uid for uid, _ in series])
        others = []
        for uid, top in series:
            activity = pending.get(uid)
            complete = activity is None or evaluate(
                activity, self.now, self.assembly.quiet_seconds, self.assembly.release_grace_seconds
            ) is not None
            headers, _ = read_headers(refs[uid])
            others.append(OtherSeries(uid, headers, top, complete, judged.get(uid, {})))
        return others
