"""Real volumes with bleeds of the held-out lesion family (:mod:`inference.ich.realct.heldout_lesions`), for evaluation only."""

from __future__ import annotations

from inference.ich.realct.heldout_lesions import make_heldout_lesion
from inference.ich.realct.source import RealInsertionSource


class HeldOutInsertionSource(RealInsertionSource):
    """:class:`~inference.ich.realct.source.RealInsertionSource` drawing its bleeds from the held-out family.

    Same seeds, volumes, re-slicing and labels; other shapes and placements. Training never builds it
    (:func:`inference.ich.training.factory.build_source` refuses it without an explicit evaluation split).
    """

    name = "realct-heldout"
    lesion_maker = staticmethod(make_heldout_lesion)
