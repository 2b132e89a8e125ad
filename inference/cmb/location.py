"""Anatomical location class of a microbleed: lobar, deep or infratentorial (MARS / BOMBS compartments).

Rating scales (MARS, Gregoire et al. 2009, Neurology 73:1759; BOMBS, Cordonnier et al. 2009, Stroke
40:94) sort microbleeds into *lobar* (cortex, grey-white junction, subcortical white matter),
*deep* (basal ganglia, thalamus, internal and external capsule, corpus callosum, periventricular white
matter) and *infratentorial* (brainstem, cerebellum). Lobar-only distributions suggest cerebral
amyloid angiopathy; deep or mixed ones hypertensive arteriopathy.

Without an atlas registration the class is computed geometrically: the brain mask is summarised as an
ellipsoid (centroid and semi-axes from its second moments, a uniform ellipsoid having variance a^2/5
along each axis) and a point is classified from its normalised coordinates ``u`` (LPS, +y posterior,
+z head):

- infratentorial: ``u_z < -0.35`` and ``u_y > -0.15`` (below and behind the tentorium);
- deep: ``|u| < 0.45`` and supratentorial;
- lobar: every other supratentorial point.

This is an approximation of the anatomy and is labelled as such in every result; it needs the whole brain
in the field of view (``coverage_complete``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


class LocationClass(str, Enum):
    """Microbleed compartment of the rating scales."""

    LOBAR = "lobar"
    DEEP = "deep"
    INFRATENTORIAL = "infratentorial"


def normalised_location(u: np.ndarray) -> LocationClass:
    """Compartment of a point given in normalised brain-ellipsoid coordinates ``u = (x/a_x, y/a_y, z/a_z)``."""
    if u[2] < -0.35 and u[1] > -0.15:
        return LocationClass.INFRATENTORIAL
    if float(np.linalg.norm(u)) < 0.45:
        return LocationClass.DEEP
    return LocationClass.LOBAR


@dataclass(frozen=True)
class BrainEllipsoid:
    """The brain mask summarised as an ellipsoid in patient millimetres (LPS ``x, y, z``)."""

    centre_mm: np.ndarray         # (3,) patient x, y, z
    semi_axes_mm: np.ndarray      # (3,) along patient x, y, z
    coverage_complete: bool       # the mask touches neither the first nor the last slice

    @classmethod
    def from_mask(cls, mask: np.ndarray, affine: np.ndarray) -> BrainEllipsoid:
        """Fit centre and semi-axes to a boolean brain mask ``[z, y, x]``.

        ``affine`` is the 4x4 matrix taking ``(k, j, i, 1)`` (slice, row, column) to patient ``(x, y, z, 1)``.
        """
        idx = np.argwhere(mask)
        if len(idx) < 10:
            return cls(np.zeros(3), np.ones(3), False)
        step = max(1, len(idx) // 200_000)
        pts = idx[::step].astype(np.float64) @ affine[:3, :3].T + affine[:3, 3]
        semi = np.sqrt(5.0 * pts.var(axis=0))
        complete = not (mask[0].any() or mask[-1].any())
        return cls(pts.mean(axis=0), np.maximum(semi, 1.0), complete)

    def classify(self, patient_mm: np.ndarray) -> LocationClass:
        """Compartment of a patient position ``(x, y, z)`` in mm."""
        return normalised_location((np.asarray(patient_mm, dtype=np.float64) - self.centre_mm) / self.semi_axes_mm)
