"""From ``audit_events`` rows to DICOM audit messages (PS3.15 A.5.3).

=====================  ==========================================================================
event_type             message
=====================  ==========================================================================
node                   Application Activity (A.5.3.1), Application Start / Stop
instances-received     DICOM Instances Transferred (A.5.3.4), action C, caller -> this node
store (failure)        DICOM Instances Transferred, action C, outcome 8 (serious failure)
security               Security Alert (A.5.3.11): Node Authentication (association refused, TLS
                       failure) or Use of Restricted Function (admin API refusal)
admin                  Security Alert, Use of Restricted Function (an admin action via the API)
delivery queued        Begin Transferring DICOM Instances (A.5.3.2), this node -> destination
delivery success/fail  DICOM Instances Transferred, action R, this node -> destination
                       (an operator's ``requeued``: none; the ``admin`` row covers it)
query                  Query (A.5.3.12)
others                 none (job life cycle, series readiness, duplicates: no ATNA counterpart)
=====================  ==========================================================================

Rows are read as the dicts of :func:`dicomnode.cli.audit.event_as_dict` (or :class:`db.models.AuditEvent`).
"""

from __future__ import annotations

import base64
import binascii
import socket
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from lxml import etree

from dicomnode.atna import codes
from dicomnode.atna import messages as msg
from dicomnode.config import Config

#: (association id, Study Instance UID) -> {SOP Class UID: number of instances}
SopClassLookup = Callable[[int | None, str], dict[str, int]]
OUTCOMES = {"success": codes.OUTCOME_SUCCESS, "rejected": codes.OUTCOME_MINOR, "failure": codes.OUTCOME_SERIOUS}
DELIVERY_TYPES = ("delivery", "outbox")
DELIVERY_STARTED = ("started", "queued")  # -> Begin Transferring; success/failure -> Instances Transferred


def as_row(event: Any) -> dict[str, Any]:
    """A plain dict of an audit row (model object or ``event_as_dict`` output), ``at`` as a datetime."""
    if isinstance(event, Mapping):
        row = dict(event)
    else:
        row = {c: getattr(event, c) for c in ("id", "at", "event_type", "outcome", "actor_ae", "actor_host",
                                               "study_uid", "series_uid", "sop_instance_uid", "association_id",
                                               "message", "detail")}
    at = row.get("at")
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    row["at"] = at if isinstance(at, datetime) else datetime.now(timezone.utc)
    row["detail"] = row.get("detail") or {}
    return row


class AtnaMapper:
    """Builds the message of one row for this node (the audit source and the local participant)."""

    def __init__(self, config: Config, sop_classes: SopClassLookup | None = None) -> None:
        ae = config.node.ae_title
        host = config.node.host if config.node.host not in ("0.0.0.0", "::", "") else socket.gethostname()
        self.source = msg.AuditSource(source_id=ae, site_id=config.audit_export.site_id or None)
        self.ae_title = ae
        self.host = host
        self.sop_classes = sop_classes or (lambda _assoc, _study: {})

    def me(self, *roles: codes.Code) -> msg.Participant:
        return msg.Participant(self.ae_title, False, roles, (self.ae_title,), host=self.host)

    @staticmethod
    def peer(row: dict[str, Any], *roles: codes.Code, ae: str | None = None, host: str | None = None,
             requestor: bool = True) -> msg.Participant:
        ae = ae if ae is not None else row.get("actor_ae")
        host = host if host is not None else row.get("actor_host")
        return msg.Participant(ae or host or "unknown", requestor, roles, (ae,) if ae else (), host=host or None)

    def studies(self, row: dict[str, Any]) -> list[msg.StudyObject]:
        uid = row.get("study_uid")
        return [msg.StudyObject(uid, self.sop_classes(row.get("association_id"), uid))] if uid else []

    def message(self, event: Any) -> etree._Element | None:
        """The audit message of one row, or None when the row has no ATNA counterpart."""
        row = as_row(event)
        kind, outcome = row["event_type"], row["outcome"]
        indicator = OUTCOMES.get(outcome, codes.OUTCOME_SUCCESS)
        at, text = row["at"], row.get("message") or None
        if kind == "node":
            started = "stopped" not in (row.get("message") or "")
            return msg.application_activity(self.source, at, self.me(codes.APPLICATION), started=started,
                                            outcome=indicator)
        if kind == "instances-received" or (kind == "store" and outcome == "failure"):
            return msg.instances_transferred(
                self.source, at, self.peer(row, codes.SOURCE_ROLE), self.me(codes.DESTINATION_ROLE),
                self.studies(row), action="C", outcome=indicator, description=text if indicator != "0" else None)
        if kind in ("security", "admin"):
            return self._security(row, indicator, text)
        if kind in DELIVERY_TYPES:
            return self._delivery(row, indicator, text)
        if kind == "query":
            return self._query(row, indicator)
        return None

    def _security(self, row: dict[str, Any], indicator: str, text: str | None) -> etree._Element:
        detail = row["detail"]
        from_api = row["event_type"] == "admin" or detail.get("source") == "admin-api"
        type_code = codes.USE_OF_RESTRICTED_FUNCTION if from_api else codes.NODE_AUTHENTICATION
        subject = detail.get("path") if from_api else (row.get("actor_host") or None)
        return msg.security_alert(self.source, row["at"], type_code, self.me(codes.APPLICATION),
                                  performer=self.peer(row), outcome=indicator, description=text, subject=subject)

    def _delivery(self, row: dict[str, Any], indicator: str, text: str | None) -> etree._Element | None:
        detail = row["detail"]
        if row["outcome"] not in DELIVERY_STARTED + ("success", "failure"):
            return None  # requeued by an operator: the admin row or the next attempt says what happened
        ae = detail.get("ae_title") or row.get("actor_ae")
        names = ";".join(str(d) for d in detail.get("destinations", [])) or str(detail.get("destination") or "")
        dest = msg.Participant(ae or names or "unknown", False, (codes.DESTINATION_ROLE,), (ae,) if ae else (),
                               host=detail.get("host") or row.get("actor_host") or None)
        me = msg.Participant(self.ae_title, True, (codes.SOURCE_ROLE,), (self.ae_title,), host=self.host)
        studies = [msg.StudyObject(row["study_uid"], _classes(detail))] if row.get("study_uid") else []
        if row["outcome"] in DELIVERY_STARTED:
            return msg.begin_transferring(self.source, row["at"], me, dest, studies, outcome=indicator)
        return msg.instances_transferred(self.source, row["at"], me, dest, studies, action="R", outcome=indicator,
                                         description=text if indicator != "0" else None)

    def _query(self, row: dict[str, Any], indicator: str) -> etree._Element:
        detail = row["detail"]
        try:
            dataset = base64.b64decode(detail.get("query", ""), validate=True)
        except (binascii.Error, ValueError):
            dataset = b""
        return msg.query(self.source, row["at"], self.peer(row, codes.SOURCE_ROLE), self.me(codes.DESTINATION_ROLE),
                         sop_class_uid=str(detail.get("sop_class_uid") or "1.2.840.10008.5.1.4.1.2.2.1"),
                         query_dataset=dataset, outcome=indicator)


def _classes(detail: dict[str, Any]) -> dict[str, int]:
    sop_class = detail.get("sop_class_uid")
    return {str(sop_class): int(detail.get("instances") or 1)} if sop_class else {}
