"""What the running node tells the admin app about itself (for ``GET /health`` and ``GET /metrics``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeStatus:
    """A snapshot of the node's live components; ``None`` means "not known / not run by this process".

    Attributes
    ----------
    scp_listening:
        The storage SCP accepts associations.
    workers_alive, workers_expected:
        Analysis worker processes alive now, and how many the configuration asks for.
    """

    scp_listening: bool | None = None
    workers_alive: int | None = None
    workers_expected: int | None = None


StatusProvider = Callable[[], NodeStatus]


def unknown_status() -> NodeStatus:
    """The provider used when the app runs without a node (tests, tools): nothing is known."""
    return NodeStatus()
