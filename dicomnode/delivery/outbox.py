"""Queue produced objects for delivery and deliver what is due, with backoff and an audit row per attempt.

Three calls, all safe to repeat after a crash:

:func:`~dicomnode.delivery.results_dir.write_results` (in the analysis step, outside any transaction)
    writes every dataset under ``[results] dir`` durably (temporary name, fsync, rename, fsync of the
    folder). No database lock is held meanwhile, so C-STORE commits never wait for result files.
:func:`enqueue` (in the analysis step, in a short transaction after the files are written)
    adds one outbox row per (instance, destination). Without ``[[destinations]]`` the files are the
    result and nothing is queued. A crash between the files and the commit leaves files without rows;
    the job runs again, rewrites the same files (deterministic UIDs, identical bytes) and queues them.
:func:`deliver_due` (on a scheduler tick, every ``[delivery] tick_seconds``)
    reads the due rows in a short transaction, sends them with one association per destination and batch
    (no database lock is held over the network), then records each attempt and its audit row.

Only one process should run :func:`deliver_due` at a time (the serve process); two would both send a due
row, which the PACS absorbs (same SOP Instance UID) but the audit log would show twice.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from sqlalchemy.orm import Session, sessionmaker

from db import outbox as q
from db.audit import record_event
from db.models import utcnow
from dicomnode.config import Config, Destination
from dicomnode.delivery.backoff import Backoff
from dicomnode.delivery.scu import ScuSettings, StoreOutcome, StoreRequest, store_batch

logger = logging.getLogger(__name__)


def enqueue(
    session: Session, items: Sequence[q.OutboxItem], destinations: Sequence[Destination], *,
    job_id: int | None = None, now: datetime | None = None,
) -> list[q.OutboxEntry]:
    """Queue already written result files for every destination (idempotent); no file I/O here.

    Parameters
    ----------
    session
        Open session; the caller commits.
    items
        What :func:`~dicomnode.delivery.results_dir.write_results` returned (the files are durable).
    destinations
        ``config.destinations``; empty means keep the files only.
    job_id
        The job the results belong to (shown by ``dicomnode outbox list``).

    Returns
    -------
    list of OutboxEntry
        Rows added now (already queued pairs are left alone).
    """
    if not destinations:
        logger.info("%d result(s) kept as files only (no destination configured)", len(items))
        return []
    added, existing = q.enqueue(session, items, [d.name for d in destinations], job_id=job_id, now=now)
    if items:
        record_event(
            session, "delivery", "queued",
            f"{len(added)} instance(s) queued for {', '.join(d.name for d in destinations)}"
            + (f" ({len(existing)} already queued)" if existing else ""),
            study_uid=items[0].study_uid, series_uid=items[0].series_uid,
            detail={"job_id": job_id, "sop_instance_uids": [i.sop_instance_uid for i in items],
                    "destinations": [d.name for d in destinations], "added": len(added)},
        )
    return added


@dataclass
class DeliveryRound:
    """What one :func:`deliver_due` call did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    by_destination: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.dead


def scu_settings(config: Config) -> ScuSettings:
    section = config.delivery
    return ScuSettings(
        calling_ae_title=section.calling_ae_title or config.node.ae_title, acse_timeout=section.acse_timeout,
        dimse_timeout=section.dimse_timeout, network_timeout=section.network_timeout, security=config.security,
    )


def claim_lease(config: Config) -> timedelta:
    """How long claimed entries stay reserved for one round: one association's timeouts end to end."""
    section = config.delivery
    return timedelta(seconds=section.acse_timeout + section.network_timeout + section.dimse_timeout)


def deliver_due(
    sessions: sessionmaker[Session], config: Config, *, now: datetime | None = None,
    rng: random.Random | None = None,
) -> DeliveryRound:
    """Send every due outbox entry once; record each attempt (state, backoff, audit row).

    Parameters
    ----------
    sessions
        Session factory of the node's database.
    config
        Destinations, ``[delivery]`` backoff and batch settings, the calling AE title and TLS material.
    now, rng
        Clock and random source (tests pin them); default: the current time, the ``random`` module.
    """
    pinned = now
    backoff = Backoff.from_config(config.delivery)
    with sessions() as session, session.begin():
        claimed = q.claim_due(session, pinned or utcnow(), claim_lease(config), limit=config.delivery.batch_size * 20)
        by_destination: dict[str, list[StoreRequest]] = defaultdict(list)
        for entry in claimed:
            by_destination[entry.destination].append(
                StoreRequest(entry.id, entry.path, entry.sop_class_uid, entry.sop_instance_uid)
            )
    destinations = {d.name: d for d in config.destinations}
    result = DeliveryRound()
    settings = scu_settings(config)
    for name, requests in by_destination.items():
        for start in range(0, len(requests), config.delivery.batch_size):
            batch = requests[start:start + config.delivery.batch_size]
            outcomes = _send(destinations.get(name), name, batch, settings)
            _record(sessions, destinations.get(name), name, outcomes, backoff, pinned or utcnow(), rng, result)
    return result


def resend_by_operator(session: Session, entry_id: int, via: str) -> q.OutboxEntry | None:
    """Make entry ``entry_id`` due now (also a sent or dead one) and audit who asked; None if unknown."""
    entry = q.resend(session, entry_id)
    if entry is not None:
        record_event(
            session, "delivery", "requeued", f"outbox entry {entry_id} re-queued for {entry.destination} by operator",
            study_uid=entry.study_uid, series_uid=entry.series_uid, sop_instance_uid=entry.sop_instance_uid,
            detail={"outbox_id": entry_id, "destination": entry.destination, "via": via},
        )
    return entry


def deliver_loop(sessions: sessionmaker[Session], config: Config, stop: threading.Event) -> None:
    """Call :func:`deliver_due` every ``[delivery] tick_seconds`` until ``stop`` is set (for a thread)."""
    while not stop.is_set():
        try:
            deliver_due(sessions, config)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable: try again next tick
            logger.exception("delivery round failed")
        stop.wait(config.delivery.tick_seconds)


def _send(
    destination: Destination | None, name: str, requests: list[StoreRequest], settings: ScuSettings,
) -> list[StoreOutcome]:
    if destination is None:
        message = f"destination {name!r} is no longer configured ([[destinations]])"
        return [StoreOutcome(request.key, False, "unconfigured", message) for request in requests]
    try:
        return store_batch(destination, requests, settings)
    except Exception as exc:  # noqa: BLE001 - a network library failure must not stop the other destinations
        logger.exception("delivery to %s failed", name)
        return [StoreOutcome(r.key, False, "error", f"{type(exc).__name__}: {exc}") for r in requests]


def _record(
    sessions: sessionmaker[Session], destination: Destination | None, name: str, outcomes: list[StoreOutcome],
    backoff: Backoff, now: datetime, rng: random.Random | None, result: DeliveryRound,
) -> None:
    peer = {"destination": name}
    if destination is not None:
        peer.update(ae_title=destination.ae_title, host=destination.host, port=str(destination.port))
    with sessions() as session, session.begin():
        for outcome in outcomes:
            entry = session.get(q.OutboxEntry, outcome.key)
            if entry is None or entry.state != q.PENDING:
                continue
            if outcome.delivered:
                q.record_success(entry, outcome.status, now)
                result.sent += 1
                result.by_destination[name] = result.by_destination.get(name, 0) + 1
                state, message, next_at = q.SENT, f"stored on {name} ({outcome.status})", None
            else:
                next_at = backoff.next_attempt(entry.queued_at, entry.attempts + 1, now, rng)
                q.record_failure(entry, outcome.status, outcome.error, next_at, now)
                if next_at is None:
                    result.dead += 1
                    state, message = q.DEAD, f"gave up on {name} after {entry.attempts} attempt(s): {outcome.error}"
                    logger.error("outbox entry %d (%s) is dead: %s", entry.id, entry.sop_instance_uid, outcome.error)
                else:
                    result.retried += 1
                    state, message = q.PENDING, f"{name}: {outcome.error}; retry at {next_at.isoformat()}"
            record_event(
                session, "delivery", "success" if outcome.delivered else "failure", message[:2000],
                actor_ae=destination.ae_title if destination else None,
                actor_host=destination.host if destination else None,
                study_uid=entry.study_uid, series_uid=entry.series_uid, sop_instance_uid=entry.sop_instance_uid,
                detail={**peer, "outbox_id": entry.id, "status": outcome.status, "attempt": entry.attempts,
                        "state": state, "next_attempt_at": next_at.isoformat() if next_at else None},
            )
