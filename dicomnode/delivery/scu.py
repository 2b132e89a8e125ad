"""C-STORE SCU (PS3.4 Annex B Storage Service Class, PS3.7 9.1.1) with pynetdicom: one association per batch.

:func:`store_batch` opens one association to a destination, proposes a presentation context per SOP Class
in the batch (Explicit and Implicit VR Little Endian, PS3.5 A.1/A.2), sends every file and releases. Each
file gets a :class:`StoreOutcome`: delivered on Success (0000) or a Warning (B000, B006, B007: stored with
coercion or elements discarded); anything else, an unreachable peer, a refused association or an abort
is a failure with a short status such as ``0xA700``, ``no-association`` or ``aborted``.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.association import Association

from dicomnode.config import Destination, SecuritySection

logger = logging.getLogger(__name__)

WARNING_STATUSES = frozenset({0xB000, 0xB006, 0xB007})
TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]


@dataclass(frozen=True)
class StoreRequest:
    """One file to send; ``key`` lets the caller match the outcome (e.g. the outbox row id)."""

    key: int
    path: str
    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True)
class StoreOutcome:
    key: int
    delivered: bool
    status: str  # "0x0000", "0xB000", "0xA700", "no-association", "aborted", "unreadable", ...
    error: str = ""


@dataclass(frozen=True)
class ScuSettings:
    """Calling AE title, timeouts and TLS material of the SCU."""

    calling_ae_title: str
    acse_timeout: float = 30.0
    dimse_timeout: float = 60.0
    network_timeout: float = 60.0
    security: SecuritySection | None = None


def client_context(security: SecuritySection | None) -> ssl.SSLContext:
    """TLS 1.2+ client context (PS3.15 B.1): verify the peer with ``tls_ca`` (else the system CAs),
    present the node's certificate when configured."""
    context = ssl.create_default_context(cafile=str(security.tls_ca) if security and security.tls_ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if security is not None and security.tls_cert is not None and security.tls_key is not None:
        context.load_cert_chain(str(security.tls_cert), str(security.tls_key))
    return context


def _status_text(value: int) -> str:
    return f"0x{value:04X}"


def store_batch(destination: Destination, requests: Sequence[StoreRequest], settings: ScuSettings) -> list[StoreOutcome]:
    """Send ``requests`` to ``destination`` over one association; one outcome per request, in order."""
    if not requests:
        return []
    ae = AE(ae_title=settings.calling_ae_title)
    ae.acse_timeout = settings.acse_timeout
    ae.dimse_timeout = settings.dimse_timeout
    ae.network_timeout = settings.network_timeout
    for sop_class in sorted({request.sop_class_uid for request in requests}):
        ae.add_requested_context(sop_class, TRANSFER_SYNTAXES)
    kwargs: dict[str, Any] = {}
    if destination.tls:
        try:
            kwargs["tls_args"] = (client_context(settings.security), destination.host)
        except (OSError, ssl.SSLError) as exc:
            return [StoreOutcome(r.key, False, "tls-config", f"TLS client context: {exc}") for r in requests]
    assoc = ae.associate(destination.host, destination.port, ae_title=destination.ae_title, **kwargs)
    if not assoc.is_established:
        reason = "rejected" if assoc.is_rejected else "aborted" if assoc.is_aborted else "unreachable"
        message = f"association with {destination.ae_title}@{destination.host}:{destination.port} {reason}"
        logger.warning("delivery to %s: %s", destination.name, message)
        return [StoreOutcome(r.key, False, "no-association", message) for r in requests]
    outcomes: list[StoreOutcome] = []
    try:
        for request in requests:
            if not assoc.is_established:
                outcomes.append(StoreOutcome(request.key, False, "aborted", "association ended before this store"))
                continue
            outcomes.append(_store_one(assoc, request))
    finally:
        if assoc.is_established:
            assoc.release()
    sent = sum(outcome.delivered for outcome in outcomes)
    logger.info("delivery to %s: %d of %d instance(s) stored", destination.name, sent, len(outcomes))
    return outcomes


def _store_one(assoc: Association, request: StoreRequest) -> StoreOutcome:
    try:
        ds = dcmread(Path(request.path))
    except (OSError, InvalidDicomError) as exc:
        return StoreOutcome(request.key, False, "unreadable", f"{request.path}: {exc}")
    try:
        status = assoc.send_c_store(ds)
    except (ValueError, RuntimeError) as exc:  # no accepted context for the SOP class, ...
        return StoreOutcome(request.key, False, "no-context", str(exc))
    if "Status" not in status:
        return StoreOutcome(request.key, False, "aborted", "no response (association aborted or DIMSE timeout)")
    value = int(status.Status)
    text = _status_text(value)
    if value == 0x0000 or value in WARNING_STATUSES:
        return StoreOutcome(request.key, True, text)
    comment = str(status.get("ErrorComment", "")) if "ErrorComment" in status else ""
    return StoreOutcome(request.key, False, text, f"C-STORE status {text} {comment}".strip())
