"""Delivery of results: files under ``[results] dir``, a persistent outbox, C-STORE to each destination.

Wiring::

    from dicomnode.delivery import enqueue, deliver_due, write_results

    # in the analysis step: the files first, durably, with no database transaction open ...
    items = write_results(config.results.dir, datasets)
    # ... then a short transaction that only inserts the outbox rows:
    with sessions.begin() as session:
        enqueue(session, items, config.destinations, job_id=job.id)

    # on a scheduler tick (every config.delivery.tick_seconds), in the serve process only:
    deliver_due(sessionmaker, config)        # or run deliver_loop(sessionmaker, config, stop_event) in a thread

Modules: :mod:`~dicomnode.delivery.outbox` (enqueue, deliver_due), :mod:`~dicomnode.delivery.scu`
(C-STORE SCU, one association per destination and batch), :mod:`~dicomnode.delivery.backoff` (retry
schedule), :mod:`~dicomnode.delivery.results_dir` (durable files). The table is :mod:`db.outbox`.
"""

from dicomnode.delivery.backoff import Backoff
from dicomnode.delivery.outbox import DeliveryRound, deliver_due, deliver_loop, enqueue, resend_by_operator
from dicomnode.delivery.results_dir import write_results

__all__ = ["Backoff", "DeliveryRound", "deliver_due", "deliver_loop", "enqueue", "resend_by_operator", "write_results"]
