"""The RSNA 2019 weighted multi-label log loss, with a mask for classes a sample has no label for.

RSNA Intracranial Hemorrhage Detection scored each image by the weighted mean of the six binary
cross-entropies, with weight 2 on "any" and 1 on each subtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inference.ich.labels import ANY_INDEX, LABELS

ANY_WEIGHT = 2.0


def class_weights(any_weight: float = ANY_WEIGHT) -> torch.Tensor:
    """[6] weights: ``any_weight`` on "any", 1 on each subtype."""
    weights = torch.ones(len(LABELS))
    weights[ANY_INDEX] = any_weight
    return weights


def weighted_log_loss(logits: torch.Tensor, targets: torch.Tensor, known: torch.Tensor | None = None,
                      any_weight: float = ANY_WEIGHT) -> torch.Tensor:
    """Weighted multi-label log loss, averaged over rows.

    Parameters
    ----------
    logits, targets
        [..., 6] logits and 0/1 (or soft) targets (moved to the logits' device).
    known
        bool, broadcastable to [..., 6]: classes that count for each row (None: all).
    any_weight
        Weight of the "any" class.

    Returns
    -------
    torch.Tensor
        Scalar: per row, sum(w * bce * known) / sum(w * known); then the mean over rows with a known class.
    """
    weights = class_weights(any_weight).to(logits.device, logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, targets.to(logits.device, logits.dtype), reduction="none")
    mask = torch.ones_like(bce) if known is None else known.to(bce.device, bce.dtype).expand_as(bce)
    per_row_weight = (weights * mask).sum(dim=-1)
    per_row = (weights * mask * bce).sum(dim=-1) / per_row_weight.clamp_min(1e-12)
    valid = per_row_weight > 0
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return per_row[valid].mean()
