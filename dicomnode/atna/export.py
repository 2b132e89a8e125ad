"""``dicomnode audit --format atna``: audit rows as DICOM audit messages (PS3.15 A.5), one per line.

Each output line is one complete ``AuditMessage`` document (UTF-8, no XML declaration) that validates
against the schema of PS3.15 A.5.1; rows without an ATNA counterpart (job life cycle, series readiness,
duplicate stores) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.models import Instance
from dicomnode.atna.mapping import AtnaMapper, SopClassLookup
from dicomnode.atna.messages import to_bytes
from dicomnode.config import Config


def sop_class_lookup(sessions: sessionmaker[Session]) -> SopClassLookup:
    """SOP classes (with counts) of one study received over one association, from ``instances``."""

    def lookup(association_id: int | None, study_uid: str) -> dict[str, int]:
        query = select(Instance.sop_class_uid, func.count()).where(Instance.study_uid == study_uid)
        if association_id is not None:
            query = query.where(Instance.association_id == association_id)
        with sessions() as session:
            return {uid: int(n) for uid, n in session.execute(query.group_by(Instance.sop_class_uid))}

    return lookup


def message_lines(rows: Iterable[Any], mapper: AtnaMapper) -> list[str]:
    """One XML document per line for each row with an ATNA counterpart."""
    out = []
    for row in rows:
        message = mapper.message(row)
        if message is not None:
            out.append(to_bytes(message, declaration=False).decode("utf-8"))
    return out


def render_atna(rows: list[dict[str, Any]], config: Config) -> str:
    """What ``dicomnode audit --format atna`` prints for ``rows`` (``event_as_dict`` dicts)."""
    engine = make_engine(config.database.url)
    try:
        mapper = AtnaMapper(config, sop_class_lookup(make_sessionmaker(engine)))
        return "\n".join(message_lines(rows, mapper))
    finally:
        engine.dispose()
