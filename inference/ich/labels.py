"""Output classes of the hemorrhage model, in the order of the network's logits."""

from __future__ import annotations

LABELS: tuple[str, ...] = (
    "any",
    "epidural",
    "intraparenchymal",
    "intraventricular",
    "subarachnoid",
    "subdural",
)
"""Index 0 is "any hemorrhage"; 1-5 are the subtypes of the RSNA 2019 challenge."""

ANY_INDEX = LABELS.index("any")
