"""One synthetic SWI study: a random head (:mod:`.anatomy`) imaged by gradient-echo physics (:mod:`.physics`).

Microbleeds (paramagnetic spheres, 1.5-5 mm source diameter, +0.5..+2 ppm) and calcifications
(diamagnetic spheres, 1.5-5 mm, -0.5..-2 ppm) are placed in the lobar, deep and infratentorial
compartments; 20-40 medullary and cortical veins (+0.3..+0.5 ppm, deoxygenated blood) and two paranasal
air sinuses (+9.4 ppm) are the mimics. The acquired grid defaults to 2 mm slices of 1 x 1 mm pixels (the
method's data are 2 mm x 0.5 x 0.5 mm; a coarser in-plane grid keeps generation at a few seconds), the
fine grid to 1 x 0.5 x 0.5 mm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from inference.cmb.location import LocationClass
from inference.cmb.phantom.anatomy import Grid, HeadModel, Lesion, label_map, place_in_compartment, random_vein
from inference.cmb.phantom.physics import Sequence, acquire, dipole_field, smooth_background_phase

FINE_MM = (1.0, 0.5, 0.5)


@dataclass(frozen=True)
class TruthLesion:
    """Ground truth of one lesion on the acquired grid."""

    kind: str
    centre_mm: tuple[float, float, float]     # patient x, y, z
    centre_voxel: tuple[float, float, float]  # acquired grid [k, j, i] (slice, row, column)
    diameter_mm: float                        # source (true) diameter; the dark area on SWI is larger
    chi_ppm: float
    location: str


@dataclass
class SwiPhantom:
    """An acquired SWI study: magnitude, wrapped phase (radians), geometry and truth."""

    seed: int
    magnitude: np.ndarray                 # float32 [k, j, i]
    phase: np.ndarray                     # float32 [k, j, i], wrapped to (-pi, pi]
    spacing_mm: tuple[float, float, float]  # [slice, row, column]
    origin_mm: tuple[float, float, float]   # patient x, y, z of voxel (0, 0, 0)
    sequence: Sequence
    lesions: list[TruthLesion] = field(default_factory=list)
    n_veins: int = 0

    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix taking (k, j, i, 1) to patient (x, y, z, 1); axial, rows posterior, slices head-ward."""
        a = np.zeros((4, 4))
        a[0, 2] = self.spacing_mm[2]
        a[1, 1] = self.spacing_mm[1]
        a[2, 0] = self.spacing_mm[0]
        a[:3, 3] = self.origin_mm
        a[3, 3] = 1.0
        return a

    def truth_dict(self) -> dict[str, object]:
        """JSON-ready ground truth."""
        return {"seed": self.seed, "shape": list(self.magnitude.shape), "spacing_mm": list(self.spacing_mm),
                "origin_mm": list(self.origin_mm), "sequence": asdict(self.sequence), "n_veins": self.n_veins,
                "phase_convention": "radians, exp(-i gamma dB TE): paramagnetic centre negative",
                "lesions": [asdict(lesion) for lesion in self.lesions]}


def _draw_lesions(rng: np.random.Generator, axes: tuple[float, float, float], n_cmb: int, n_calc: int,
                  microbleed_mm: tuple[float, float], calcification_mm: tuple[float, float]) -> list[Lesion]:
    lesions: list[Lesion] = []
    kinds = ["microbleed"] * n_cmb + ["calcification"] * n_calc
    classes = list(LocationClass)
    for kind in kinds:
        for _ in range(200):
            location = classes[int(rng.integers(len(classes)))]
            centre = place_in_compartment(rng, axes, location)
            diameter = float(rng.uniform(*(microbleed_mm if kind == "microbleed" else calcification_mm)))
            if all(np.linalg.norm(np.subtract(centre, other.centre_mm)) > (diameter + other.diameter_mm) / 2 + 8
                   for other in lesions):
                break
        chi = float(rng.uniform(0.5, 2.0)) * (1 if kind == "microbleed" else -1)
        lesions.append(Lesion(kind, centre, diameter, chi, location))
    return lesions


def generate_swi_phantom(seed: int, n_slices: int = 72, in_plane_mm: float = 1.0,
                         n_microbleeds: int | None = None, n_calcifications: int | None = None,
                         snr_white: float | None = None, sequence: Sequence | None = None,
                         microbleed_mm: tuple[float, float] = (1.5, 5.0),
                         calcification_mm: tuple[float, float] = (1.5, 5.0)) -> SwiPhantom:
    """Generate one SWI study from physics; the same arguments give the same study.

    Parameters
    ----------
    seed : int
        Random seed of anatomy, lesions, background phase and noise.
    n_slices : int
        Number of 2 mm slices, centred on the brain (72 slices cover the whole brain).
    in_plane_mm : float
        Pixel spacing; 1.0 (default) or 0.5.
    n_microbleeds, n_calcifications : int, optional
        Lesion counts (default random: 0-12 microbleeds, 0-4 calcifications).
    snr_white : float, optional
        White-matter SNR of the magnitude (default random 15-40).
    microbleed_mm, calcification_mm : tuple of float
        Ranges of microbleed and calcification source diameters.
    """
    rng = np.random.default_rng(seed)
    seq = sequence or Sequence()
    axes = (float(rng.uniform(56, 66)), float(rng.uniform(70, 82)), float(rng.uniform(52, 60)))
    n_cmb = int(rng.integers(0, 13)) if n_microbleeds is None else n_microbleeds
    n_calc = int(rng.integers(0, 5)) if n_calcifications is None else n_calcifications
    snr = float(rng.uniform(15, 40)) if snr_white is None else snr_white
    spacing = (2.0, in_plane_mm, in_plane_mm)
    fz, fy, fx = (max(1, int(round(s / f))) for s, f in zip(spacing, FINE_MM))
    factors = (fz, fy, fx)
    fine_spacing = tuple(s / f for s, f in zip(spacing, factors))
    rows = int(np.ceil(2 * (axes[1] + 18) / in_plane_mm / 8) * 8)
    cols = int(np.ceil(2 * (axes[0] + 18) / in_plane_mm / 8) * 8)
    shape = (n_slices, rows, cols)
    origin = (-(cols - 1) / 2 * in_plane_mm, -(rows - 1) / 2 * in_plane_mm, -(n_slices - 1) / 2 * spacing[0])
    fine_origin = (origin[2] - (spacing[0] - fine_spacing[0]) / 2, origin[1] - (spacing[1] - fine_spacing[1]) / 2,
                   origin[0] - (spacing[2] - fine_spacing[2]) / 2)
    fine = Grid(tuple(n * f for n, f in zip(shape, factors)), fine_spacing, fine_origin)  # type: ignore[arg-type]
    z_range = (origin[2], origin[2] + (n_slices - 1) * spacing[0])
    model = HeadModel(
        brain_axes_mm=axes,
        lesions=_draw_lesions(rng, axes, n_cmb, n_calc, microbleed_mm, calcification_mm),
        veins=[random_vein(rng, axes, z_range) for _ in range(int(rng.integers(20, 41)))],
        sinuses=[((0.0, -(axes[1] + 7), -0.3 * axes[2]), (14.0, 6.0, 11.0)),
                 ((0.0, -0.35 * axes[1], -(axes[2] + 9)), (11.0, 10.0, 7.0))],
        deep_chi_ppm=float(rng.uniform(0.03, 0.10)))
    labels, chi = label_map(model, fine)
    field_ppm = dipole_field(chi, fine.spacing)
    del chi
    image = acquire(labels, field_ppm, factors, seq, rng, snr, smooth_background_phase(shape, rng))
    truth = []
    for lesion in model.lesions:
        x, y, z = lesion.centre_mm
        voxel = ((z - origin[2]) / spacing[0], (y - origin[1]) / spacing[1], (x - origin[0]) / spacing[2])
        if not 0 <= voxel[0] <= n_slices - 1:
            continue
        truth.append(TruthLesion(lesion.kind, lesion.centre_mm, voxel, lesion.diameter_mm, lesion.chi_ppm,
                                 lesion.location.value))
    return SwiPhantom(seed=seed, magnitude=np.abs(image).astype(np.float32),
                      phase=np.angle(image).astype(np.float32), spacing_mm=spacing,
                      origin_mm=(origin[0], origin[1], origin[2]), sequence=seq, lesions=truth,
                      n_veins=len(model.veins))
