"""Delivery of results: files under ``[results] dir``, a persistent outbox, C-STORE to each destination.

Wiring::

    from dicomnode.delivery import enqueue, deliver_due

    # in the analysis step, in the transaction that marks the job done:
    enqueue(session, datasets, config.destinations, config.results.dir, job_id=job.id)

    # on a scheduler tick (every config.delivery.tick_seconds), in the serve process only:
    deliver_due(sessionmaker, config)        # or run deliver_loop(sessionmaker, config, stop_event) in a thread

Modules: :mod:`~dicomnode.delivery.outbox` (enqueue, deliver_due), :mod:`~dicomnode.delivery.scu`
(C-STORE SCU, one association per destination and batch), :mod:`~dicomnode.delivery.backoff` (retry
schedule), :mod:`~dicomnode.delivery.results_dir` (durable files). The table is :mod:`db.outbox`.
"""

from dicomnode.delivery.backoff import Backoff
from dicomnode.delivery.outbox import DeliveryRound, deliver_due, deliver_loop, enqueue, resend_by_operator

__all__ = ["Backoff", "DeliveryRound", "deliver_due", "deliver_loop", "enqueue", "resend_by_operator"]
