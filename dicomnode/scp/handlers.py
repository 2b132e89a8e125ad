"""pynetdicom event handlers: thin, they store and record, nothing else.

- Connections the gate refused (:mod:`dicomnode.scp.gate`): a ``security`` row, rate-limited per host.
- EVT_REQUESTED: access control and the per-host association limit; A-ASSOCIATE-RJ (PS3.8 9.3.4) and a
  ``security`` audit row on refusal.
- EVT_ACCEPTED / EVT_RELEASED / EVT_ABORTED: the ``associations`` row and its summary audit rows.
- EVT_C_ECHO: Verification (PS3.4 Annex A), always Success.
- EVT_C_STORE: Storage (PS3.4 Annex B); Success (0x0000) only after the file is durable and its row
  committed (rows of concurrent associations share a group commit, :mod:`dicomnode.scp.commit`); failures become 0xA700 (out of resources), 0xA900 (data set does not match SOP class), 0xC210
  (cannot understand) or 0xC211 (other); the data set is checked first (:mod:`dicomnode.scp.received`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace

from pydicom.uid import UncompressedTransferSyntaxes
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.audit import new_event
from db.ingest import InstanceInfo, PeerInfo, add_audit, close_association, delete_instance, open_association
from db.models import AuditEvent
from db.text import bounded
from dicomnode.errors import OutOfResources, StorageError
from dicomnode.scp.access import REJECT_LOCAL_LIMIT, AccessPolicy, Decision
from dicomnode.scp.commit import GroupCommit
from dicomnode.scp.filemeta import file_header
from dicomnode.scp.gate import Refusal
from dicomnode.scp.inflight import InFlight
from dicomnode.scp.inflate import InflateLimits
from dicomnode.scp.received import read_received
from dicomnode.scp.refusals import RefusalLimiter
from dicomnode.scp.storage import DurableStore
from dicomnode.scp.transport import CANNOT_UNDERSTAND
from dicomnode.uid_policy import UidPolicy, check_uid

log = logging.getLogger(__name__)

SUCCESS = 0x0000
UNCOMPRESSED = frozenset(str(uid) for uid in UncompressedTransferSyntaxes)
OTHER_FAILURE = 0xC211


@dataclass
class _Open:
    """What the node remembers about an open association."""

    association_id: int | None
    peer: PeerInfo
    echoes: int = 0
    stores: int = 0  # C-STORE requests handled, successful or not
    aborted_by: str = "node"  # who ended an aborted association: "peer", "network" or the node itself
    syntaxes: tuple[str, ...] = ()  # transfer syntaxes of the accepted presentation contexts
    lock: threading.Lock = field(default_factory=threading.Lock)


class IngestHandlers:
    """Handlers bound to one store, one database and one access policy."""

    def __init__(
        self,
        store: DurableStore,
        sessions: sessionmaker[Session],
        policy: AccessPolicy,
        tls: bool,
        limits: InflateLimits,
        per_host: int,
        committer: GroupCommit,
        uid_policy: UidPolicy = "strict",
    ) -> None:
        self.store = store
        self.uid_policy: UidPolicy = uid_policy
        self.committer = committer
        self.inflight = InFlight()
        self.limits = limits
        self.per_host = per_host
        self.refusals = RefusalLimiter()
        self.sessions = sessions
        self.policy = policy
        self.tls = tls
        self._open: dict[Association, _Open] = {}
        self._admitted: dict[Association, str] = {}  # passed EVT_REQUESTED, not yet accepted: association -> host
        self._lock = threading.Lock()

    def bindings(self) -> list[evt.EventHandlerType]:
        return [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_REJECTED, self.on_rejected),
            (evt.EVT_ACCEPTED, self.on_accepted),
            (evt.EVT_RELEASED, self.on_released),
            (evt.EVT_ABORTED, self.on_aborted),
            (evt.EVT_ACSE_RECV, self.on_acse_received),
            (evt.EVT_C_ECHO, self.on_echo),
            (evt.EVT_C_STORE, self.on_store),
        ]

    # -- association life cycle -------------------------------------------------------------------

    def _peer(self, assoc: Association) -> PeerInfo:
        request = assoc.requestor.primitive  # the A-ASSOCIATE-RQ; None only before one was received
        return PeerInfo(
            calling_ae=str(request.calling_ae_title).strip() if request is not None else "",
            called_ae=str(request.called_ae_title).strip() if request is not None else "",
            host=str(assoc.requestor.address),
            port=int(assoc.requestor.port),
            tls=self.tls,
        )

    def on_requested(self, event: evt.Event) -> None:
        peer = self._peer(event.assoc)
        decision = self.policy.decide(peer.calling_ae, peer.called_ae, peer.host)
        if decision.allowed:
            decision = self._admit(event.assoc, peer.host)
        if decision.allowed:
            return
        assert decision.reject is not None
        log.warning("association from %s:%d (%s) rejected: %s", peer.host, peer.port, peer.calling_ae, decision.reason)
        self._audit_security(peer, decision.reason)
        event.assoc.acse.send_reject(*decision.reject)
        event.assoc.kill()  # as pynetdicom does after its own rejections: the RJ PDU leaves before the close

    def _admit(self, assoc: Association, host: str) -> Decision:
        """The per-host limit, counting associations admitted but not yet accepted (EVT_ACCEPTED comes after
        the A-ASSOCIATE-AC is sent); an admitted association holds its slot from here on."""
        with self._lock:
            for gone in [a for a in self._admitted if not a.is_alive()]:  # ended before EVT_ACCEPTED or a close event
                del self._admitted[gone]
            held = sum(1 for state in self._open.values() if state.peer.host == host)
            held += sum(1 for admitted in self._admitted.values() if admitted == host)
            if held < self.per_host:
                self._admitted[assoc] = host
                return Decision(True)
        return Decision(False, f"{host} already holds {held} association(s) (node.max_associations_per_host)",
                        REJECT_LOCAL_LIMIT)

    def on_refused_connection(self, host: str, port: int, refusal: Refusal) -> None:
        """A connection the gate ended before it became an association (rate-limited row and log line)."""
        suppressed = self.refusals.admit(host)
        if suppressed is None:
            return
        log.warning("connection from %s:%d refused before association: %s", host, port, bounded(refusal.reason))
        detail: dict[str, object] = {"stage": "before association", "kind": refusal.kind, "peer_port": port,
                                     "called_ae": refusal.called_ae, "tls": self.tls, "suppressed": suppressed}
        if refusal.reject is not None:
            detail["reject"] = list(refusal.reject)
        if refusal.abort is not None:
            detail["abort_reason"] = refusal.abort
        self._try_audit(new_event("security", "rejected", f"connection from {host} refused: {refusal.reason}",
                                  actor_ae=refusal.calling_ae or None, actor_host=host, detail=detail))

    def on_invalid_request(self, assoc: Association, reason: str) -> None:
        """A C-STORE request pynetdicom cannot serve (answered 0xC210 by the association itself)."""
        state = self._state(assoc)
        log.warning("C-STORE from %s refused (0x%04X): %s", state.peer.host, CANNOT_UNDERSTAND, reason)
        self._audit_failure(state, CANNOT_UNDERSTAND, reason, "")

    def on_rejected(self, event: evt.Event) -> None:
        """Rejections pynetdicom makes itself, such as ``max_associations`` reached (local limit exceeded)."""
        with self._lock:
            self._admitted.pop(event.assoc, None)
        peer = self._peer(event.assoc)
        reason = "association refused by the node (maximum number of associations reached)"
        log.warning("association from %s:%d (%s) rejected: %s", peer.host, peer.port, peer.calling_ae, reason)
        self._audit_security(peer, reason)

    def on_tls_failure(self, host: str, port: int, reason: str) -> None:
        log.warning("connection from %s:%d dropped: %s", host, port, reason)
        self._audit_security(PeerInfo("", "", host, port, True), reason)

    def _audit_security(self, peer: PeerInfo, reason: str) -> None:
        event = new_event(
            "security",
            "rejected",
            reason,
            actor_ae=peer.calling_ae or None,
            actor_host=peer.host,
            detail={"called_ae": peer.called_ae, "peer_port": peer.port, "tls": peer.tls},
        )
        self._try_audit(event)

    def on_accepted(self, event: evt.Event) -> None:
        peer = self._peer(event.assoc)
        try:
            association_id: int | None = open_association(self.sessions, peer)
        except SQLAlchemyError as exc:
            log.error("database unavailable when accepting %s from %s: %s", peer.calling_ae, peer.host, exc)
            association_id = None
        syntaxes = tuple(sorted({str(cx.transfer_syntax[0]) for cx in event.assoc.accepted_contexts}))
        with self._lock:
            self._admitted.pop(event.assoc, None)
            self._open[event.assoc] = _Open(association_id, peer, syntaxes=syntaxes)

    def on_released(self, event: evt.Event) -> None:
        self._close(event.assoc, "released")

    def on_aborted(self, event: evt.Event) -> None:
        self._close(event.assoc, "aborted")

    def on_acse_received(self, event: evt.Event) -> None:
        """Note who aborted: an A-ABORT came from the peer, an A-P-ABORT from the network or protocol layer."""
        primitive: object = getattr(event, "primitive", None)  # set for EVT_ACSE_RECV, not declared by Event
        if isinstance(primitive, (A_ABORT, A_P_ABORT)):
            self._state(event.assoc).aborted_by = "peer" if isinstance(primitive, A_ABORT) else "network"

    def _close(self, assoc: Association, outcome: str) -> None:
        with self._lock:
            self._admitted.pop(assoc, None)
            state = self._open.pop(assoc, None)
        if state is None or state.association_id is None:
            return
        reason = abort_reason(state) if outcome == "aborted" else ""
        try:
            close_association(self.sessions, state.association_id, outcome, echoes=state.echoes, reason=reason)
        except SQLAlchemyError as exc:
            log.error("could not record the end of association %d: %s", state.association_id, exc)

    def _state(self, assoc: Association) -> _Open:
        with self._lock:
            state = self._open.get(assoc)
        return state if state is not None else _Open(None, self._peer(assoc))

    # -- DIMSE services ---------------------------------------------------------------------------

    def on_echo(self, event: evt.Event) -> int:
        state = self._state(event.assoc)
        with state.lock:
            state.echoes += 1
        return SUCCESS

    def on_store(self, event: evt.Event) -> int:
        state = self._state(event.assoc)
        with state.lock:
            state.stores += 1
        sop_instance_uid = str(_store_request(event).AffectedSOPInstanceUID or "")
        try:
            raw = event.encoded_dataset(include_meta=False)
            info, uid_warnings = self._describe(event, raw)
            with self.inflight.claim(info.sop_instance_uid):  # a second copy waits for this one's outcome
                first = self._store(event, info, raw, state.association_id)
            if not first:
                self._audit_store(state, "duplicate", "instance already stored; kept the first copy", info)
            if uid_warnings:
                self._audit_store(state, "warning", "; ".join(uid_warnings), info)
        except SQLAlchemyError as exc:
            return self._failed(state, OutOfResources(f"database unavailable: {type(exc).__name__}"), sop_instance_uid)
        except StorageError as exc:
            return self._failed(state, exc, sop_instance_uid)
        except Exception as exc:  # noqa: BLE001 - any other fault must still answer the peer
            log.exception("C-STORE of %s from %s failed unexpectedly", sop_instance_uid, state.peer.host)
            self._audit_failure(state, OTHER_FAILURE, f"unexpected {type(exc).__name__}: {exc}", sop_instance_uid)
            return OTHER_FAILURE
        return SUCCESS

    def _store(self, event: evt.Event, info: InstanceInfo, raw: bytes, association_id: int | None) -> bool:
        """Make the instance (data set ``raw``) durable and its row committed; False when it was already stored.

        The durable write (temporary name, fsync, no-replace link, directory fsync) runs on a sync thread
        while this thread commits the row in a group commit: the file's flushes and the commit overlap, and
        no database lock is held during file I/O. The answer waits for both; when either fails the other
        is undone (no file without its row, no row without its file).
        """
        request = _store_request(event)
        # the DICOM File Format (PS3.10 7): preamble, file meta, data set; the bytes of event.encoded_dataset()
        data = file_header(str(request.AffectedSOPClassUID), str(request.AffectedSOPInstanceUID),
                           str(event.context.transfer_syntax)) + raw
        path = self.store.path_for(info.study_uid, info.series_uid, info.sop_instance_uid)
        stored = self.store.store_soon(info.study_uid, info.series_uid, info.sop_instance_uid, data)
        try:
            first = self.committer.commit(replace(info, path=str(path), size=len(data)), association_id)
        except SQLAlchemyError:
            if stored.exception() is None and stored.result()[1]:  # a new file without its row: removed
                self.store.remove(path)
            raise
        try:
            _, created = stored.result()
        except StorageError:
            if first:  # the row of a file that could not be made durable (never acknowledged)
                self._delete_row(info.sop_instance_uid)
            raise
        if first and not created:  # a whole file a crash left without its row (not yet reconciled): adopted
            self.store.sync_entry(path)
        return first

    def _delete_row(self, sop_instance_uid: str) -> None:
        try:
            delete_instance(self.sessions, sop_instance_uid)
        except SQLAlchemyError as exc:  # start-up reconciliation removes it (its file is missing)
            log.error("row of %s could not be removed after its file failed: %s", sop_instance_uid, exc)

    def _failed(self, state: _Open, error: StorageError, sop_instance_uid: str) -> int:
        log.warning(
            "C-STORE of %s from %s failed (0x%04X): %s", sop_instance_uid, state.peer.host, error.status, error
        )
        self._audit_failure(state, error.status, str(error), sop_instance_uid)
        return error.status

    def _describe(self, event: evt.Event, raw: bytes) -> tuple[InstanceInfo, list[str]]:
        """The checked facts of the received data set ``raw`` (:func:`read_received`) and the UID warnings
        of ``node.uid_policy``; a StorageError when it fails."""
        request = _store_request(event)
        sop_instance_uid, instance_warning = check_uid(
            request.AffectedSOPInstanceUID, "Affected SOP Instance UID (0000,1000)", self.uid_policy
        )
        sop_class_uid, _ = check_uid(request.AffectedSOPClassUID, "Affected SOP Class UID (0000,0002)", "strict")
        transfer_syntax = str(event.context.transfer_syntax)
        received = read_received(raw, transfer_syntax, sop_class_uid, sop_instance_uid, self.limits, self.uid_policy)
        warnings = ([instance_warning] if instance_warning else []) + list(received.uid_warnings)
        info = InstanceInfo(
            sop_instance_uid=received.sop_instance_uid,
            sop_class_uid=received.sop_class_uid,
            study_uid=received.study_uid,
            series_uid=received.series_uid,
            modality=received.modality,
            transfer_syntax=transfer_syntax,
            path="",
            size=0,
        )
        return info, warnings

    def _audit_store(self, state: _Open, outcome: str, message: str, info: InstanceInfo) -> None:
        self._try_audit(
            new_event(
                "store",
                outcome,
                message,
                actor_ae=state.peer.calling_ae,
                actor_host=state.peer.host,
                association_id=state.association_id,
                study_uid=info.study_uid,
                series_uid=info.series_uid,
                sop_instance_uid=info.sop_instance_uid,
                detail={"sop_class_uid": info.sop_class_uid, "transfer_syntax": info.transfer_syntax},
            )
        )

    def _audit_failure(self, state: _Open, status: int, reason: str, sop_instance_uid: str) -> None:
        self._try_audit(
            new_event(
                "store",
                "failure",
                reason,
                actor_ae=state.peer.calling_ae,
                actor_host=state.peer.host,
                association_id=state.association_id,
                sop_instance_uid=sop_instance_uid[:64] or None,
                detail={"status": f"0x{status:04X}"},
            )
        )

    def _try_audit(self, event: AuditEvent) -> None:
        try:
            add_audit(self.sessions, event)
        except SQLAlchemyError as exc:
            log.error("audit row could not be written (database unavailable): %s", exc)


def _store_request(event: evt.Event) -> C_STORE:
    """The C-STORE request (PS3.7 9.1.1) of an EVT_C_STORE event."""
    request = event.request
    if not isinstance(request, C_STORE):
        raise TypeError(f"EVT_C_STORE carries a {type(request).__name__}, not a C-STORE request")
    return request


def abort_reason(state: _Open) -> str:
    """What the node can tell about an aborted association, for its audit row (empty when nothing)."""
    who = {"peer": "the calling AE", "network": "the network or a protocol error", "node": "the node"}[state.aborted_by]
    text = f"aborted by {who} after {state.stores} C-STORE request(s)"
    if state.aborted_by == "peer" and state.stores == 0 and state.syntaxes and set(state.syntaxes) <= UNCOMPRESSED:
        text += (
            "; it proposed only uncompressed transfer syntaxes, so a sender holding compressed files (JPEG, "
            "JPEG 2000, RLE) gives up when it cannot convert them: propose their syntax (dcmtk storescu -xs for "
            "JPEG Lossless, -xv for JPEG 2000 lossless)"
        )
    return text
