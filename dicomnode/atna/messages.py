"""Builders of DICOM audit messages (PS3.15 A.5, the IHE ATNA "DICOM" format) as lxml elements.

Each builder follows the message's table in PS3.15 A.5.3 and emits elements in the order of the schema
(PS3.15 A.5.1, see ``schema/audit-message.rng``):

- :func:`application_activity`: A.5.3.1 Application Activity (start, stop).
- :func:`begin_transferring`: A.5.3.2 Begin Transferring DICOM Instances.
- :func:`instances_transferred`: A.5.3.4 DICOM Instances Transferred.
- :func:`security_alert`: A.5.3.11 Security Alert.
- :func:`query`: A.5.3.12 Query.

Deliberate deviation: the Patient participant object of A.5.3.2 and A.5.3.4 is left out. This node never
reads or stores patient IDs (see DESIGN.md); a repository can join messages to patients by Study UID.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from dicomnode.atna import codes
from dicomnode.atna.codes import Code


@dataclass(frozen=True)
class Participant:
    """An ActiveParticipant: a process (AE, application) or a person/host taking part in the event."""

    user_id: str
    requestor: bool
    roles: tuple[Code, ...] = ()
    ae_titles: tuple[str, ...] = ()  # AlternativeUserID "AETITLES=A;B" (PS3.15 A.5.2.2)
    user_name: str | None = None
    host: str | None = None  # NetworkAccessPointID: an IP address or a machine name


@dataclass(frozen=True)
class StudyObject:
    """A study as a ParticipantObject: its UID and the SOP classes (with counts) concerned."""

    study_uid: str
    sop_classes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditSource:
    """AuditSourceIdentification: who writes the audit record (this node)."""

    source_id: str
    site_id: str | None = None


def _coded(parent: etree._Element, tag: str, code: Code) -> etree._Element:
    return etree.SubElement(parent, tag, {"csd-code": code.code, "codeSystemName": code.scheme,
                                          "originalText": code.meaning})


def _datetime(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _message(event_id: Code, at: datetime, outcome: str, action: str | None,
             types: Iterable[Code] = (), description: str | None = None) -> etree._Element:
    root = etree.Element("AuditMessage")
    attrs = {"EventDateTime": _datetime(at), "EventOutcomeIndicator": outcome}
    if action:
        attrs["EventActionCode"] = action
    event = etree.SubElement(root, "EventIdentification", attrs)
    _coded(event, "EventID", event_id)
    for code in types:
        _coded(event, "EventTypeCode", code)
    if description:
        etree.SubElement(event, "EventOutcomeDescription").text = description
    return root


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _participant(root: etree._Element, who: Participant) -> None:
    attrs = {"UserID": who.user_id, "UserIsRequestor": "true" if who.requestor else "false"}
    if who.ae_titles:
        attrs["AlternativeUserID"] = "AETITLES=" + ";".join(who.ae_titles)
    if who.user_name:
        attrs["UserName"] = who.user_name
    if who.host:
        attrs["NetworkAccessPointID"] = who.host
        attrs["NetworkAccessPointTypeCode"] = codes.NAP_IP_ADDRESS if _is_ip(who.host) else codes.NAP_MACHINE_NAME
    element = etree.SubElement(root, "ActiveParticipant", attrs)
    for role in who.roles:
        _coded(element, "RoleIDCode", role)


def _source(root: etree._Element, source: AuditSource) -> None:
    attrs = {"AuditSourceID": source.source_id}
    if source.site_id:
        attrs["AuditEnterpriseSiteID"] = source.site_id
    element = etree.SubElement(root, "AuditSourceIdentification", attrs)
    _coded(element, "AuditSourceTypeCode", codes.APPLICATION_SERVER)


def _study(root: etree._Element, study: StudyObject) -> None:
    element = etree.SubElement(root, "ParticipantObjectIdentification", {
        "ParticipantObjectID": study.study_uid,
        "ParticipantObjectTypeCode": codes.TYPE_SYSTEM,
        "ParticipantObjectTypeCodeRole": codes.ROLE_REPORT,
    })
    _coded(element, "ParticipantObjectIDTypeCode", codes.STUDY_INSTANCE_UID)
    for uid, count in sorted(study.sop_classes.items()):
        etree.SubElement(element, "SOPClass", {"UID": uid, "NumberOfInstances": str(int(count))})
    contains = etree.SubElement(element, "ParticipantObjectContainsStudy")
    etree.SubElement(contains, "StudyIDs", {"UID": study.study_uid})


def _finish(root: etree._Element, participants: Iterable[Participant], source: AuditSource,
            studies: Iterable[StudyObject] = ()) -> etree._Element:
    for who in participants:
        _participant(root, who)
    _source(root, source)
    for study in studies:
        _study(root, study)
    return root


def application_activity(source: AuditSource, at: datetime, application: Participant, *, started: bool,
                         outcome: str = codes.OUTCOME_SUCCESS, launcher: Participant | None = None) -> etree._Element:
    """PS3.15 A.5.3.1: the application (role 110150) started or stopped, optionally by a launcher (110151)."""
    root = _message(codes.APPLICATION_ACTIVITY, at, outcome, "E",
                    [codes.APPLICATION_START if started else codes.APPLICATION_STOP])
    return _finish(root, [application] + ([launcher] if launcher else []), source)


def begin_transferring(source: AuditSource, at: datetime, sender: Participant, receiver: Participant,
                       studies: Iterable[StudyObject], outcome: str = codes.OUTCOME_SUCCESS) -> etree._Element:
    """PS3.15 A.5.3.2: a transfer of instances begins (sender 110153, receiver 110152)."""
    root = _message(codes.BEGIN_TRANSFERRING, at, outcome, "E")
    return _finish(root, [sender, receiver], source, studies)


def instances_transferred(source: AuditSource, at: datetime, sender: Participant, receiver: Participant,
                          studies: Iterable[StudyObject], *, action: str, outcome: str = codes.OUTCOME_SUCCESS,
                          description: str | None = None) -> etree._Element:
    """PS3.15 A.5.3.4: instances were transferred; ``action`` C (receiver stored new), R (sender read), U."""
    if action not in ("C", "R", "U"):
        raise ValueError(f"EventActionCode of Instances Transferred is C, R or U, not {action!r}")
    root = _message(codes.INSTANCES_TRANSFERRED, at, outcome, action, description=description)
    return _finish(root, [sender, receiver], source, studies)


def security_alert(source: AuditSource, at: datetime, type_code: Code, reporter: Participant, *,
                   performer: Participant | None = None, outcome: str = codes.OUTCOME_MINOR,
                   description: str | None = None, subject: str | None = None) -> etree._Element:
    """PS3.15 A.5.3.11: a security event (``type_code``, CID 401) noticed by ``reporter``.

    ``performer`` is who caused it (the peer); ``subject`` the alert subject (a node or URI).
    """
    root = _message(codes.SECURITY_ALERT, at, outcome, "E", [type_code], description)
    _finish(root, [reporter] + ([performer] if performer else []), source)
    if subject:
        element = etree.SubElement(root, "ParticipantObjectIdentification", {
            "ParticipantObjectID": subject, "ParticipantObjectTypeCode": codes.TYPE_SYSTEM,
            "ParticipantObjectTypeCodeRole": codes.ROLE_RESOURCE})
        _coded(element, "ParticipantObjectIDTypeCode", codes.URI if "/" in subject else codes.NODE_ID)
        if description:
            etree.SubElement(element, "ParticipantObjectDetail",
                             {"type": "Alert Description", "value": base64.b64encode(description.encode()).decode()})
    return root


def query(source: AuditSource, at: datetime, requester: Participant, responder: Participant, *,
          sop_class_uid: str, query_dataset: bytes, transfer_syntax: str = "1.2.840.10008.1.2",
          outcome: str = codes.OUTCOME_SUCCESS) -> etree._Element:
    """PS3.15 A.5.3.12: a query (C-FIND) was made; the object is the SOP class with the request dataset."""
    root = _message(codes.QUERY, at, outcome, "E")
    _finish(root, [requester, responder], source)
    element = etree.SubElement(root, "ParticipantObjectIdentification", {
        "ParticipantObjectID": sop_class_uid, "ParticipantObjectTypeCode": codes.TYPE_SYSTEM,
        "ParticipantObjectTypeCodeRole": codes.ROLE_REPORT})
    _coded(element, "ParticipantObjectIDTypeCode", codes.SOP_CLASS_UID)
    etree.SubElement(element, "ParticipantObjectQuery").text = base64.b64encode(query_dataset).decode()
    etree.SubElement(element, "ParticipantObjectDetail",
                     {"type": "TransferSyntax", "value": base64.b64encode(transfer_syntax.encode()).decode()})
    return root


def to_bytes(message: etree._Element, *, declaration: bool = True) -> bytes:
    """UTF-8 XML of one message (one line, no pretty-printing, as syslog carries it)."""
    return etree.tostring(message, encoding="UTF-8", xml_declaration=declaration)
