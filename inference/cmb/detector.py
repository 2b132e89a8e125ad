"""The two-stage cerebral-microbleed detector: the one call a pipeline makes.

``detect(magnitude, phase, spacing_mm, model, affine)`` runs, after Liu et al. (2019, NeuroImage
198:271): analysis grid and brain mask (k-means + morphology), homodyne high-pass phase and SWI composite
(:mod:`inference.cmb.preprocess`), candidate screening by 3D FRST united with threshold + shape
(:mod:`inference.cmb.candidates`), the 3D residual CNN on 21^3 two-channel patches
(:mod:`inference.cmb.network`), a probability threshold chosen on validation phantoms, and non-maximum
suppression within :data:`NMS_MM` (a blooming microbleed may be screened at both dipole poles). Each
finding gets its apparent diameter on the SWI (equivalent-circle diameter of the dark area in its central
slice, as raters measure) and a location class (:mod:`inference.cmb.location`).

Without phase the SWI channel is the magnitude and the phase channel is zero: the classifier then cannot
use the dipole sign, calcifications and other mimics are told apart less well, and the result says so
(``magnitude_only``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from inference.cmb.candidates import ScreeningParams, local_background, screen
from inference.cmb.classifier import INPUT_NAME, OUTPUT_NAME, classifier_session
from inference.cmb.errors import SwiInputError
from inference.cmb.location import BrainEllipsoid, LocationClass
from inference.cmb.network import CmbResNet3d
from inference.cmb.patches import extract_patches
from inference.cmb.preprocess import prepare
from inference.cmb.tta import augmented_probabilities
from inference.errors import WeightsError
from inference.runtime.session import Session

NMS_MM = 6.0
MODEL_NAME = "cmb-resnet3d"
MODEL_VERSION = "1.3.0"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "cmb_resnet3d.pt"


@dataclass(frozen=True)
class Microbleed:
    """One detected microbleed."""

    voxel: tuple[int, int, int]                 # [k, j, i] of the input grid (slice, row, column)
    patient_mm: tuple[float, float, float]      # LPS x, y, z via the affine given
    diameter_mm: float                          # apparent diameter on SWI (blooming included)
    probability: float
    location: LocationClass


@dataclass
class CmbModel:
    """The classifier (the network and the runtime session that runs it) with its operating threshold and identity."""

    network: CmbResNet3d
    session: Session
    threshold: float
    name: str = MODEL_NAME
    version: str = MODEL_VERSION
    screening: ScreeningParams = field(default_factory=ScreeningParams)
    symmetries: int = 1        # patch views averaged per candidate (inference.cmb.tta), calibrated with the threshold


@dataclass
class DetectionResult:
    """All findings of one study and what a report must say about how they were obtained."""

    microbleeds: list[Microbleed]
    magnitude_only: bool
    location_coverage_complete: bool
    n_candidates: int
    threshold: float
    timings_ms: dict[str, float]
    notes: list[str] = field(default_factory=list)


def load_model(path: Path | None = None, backend: str = "torch", device: str = "cpu") -> CmbModel:
    """Load the shipped (or the given) checkpoint; :class:`WeightsError` when missing or incompatible.

    The classifier runs on ``backend`` (``torch`` or ``onnxruntime``, :func:`inference.cmb.classifier.classifier_session`).
    """
    path = path or DEFAULT_WEIGHTS
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        network = CmbResNet3d(int(checkpoint["width"]))
        network.load_state_dict(checkpoint["state_dict"])
    except (OSError, KeyError, RuntimeError) as exc:
        raise WeightsError(f"CMB weights {path}: cannot load ({exc})") from exc
    network.eval()
    version = MODEL_VERSION
    sidecar = path.with_suffix(".json")
    if sidecar.exists():
        version = str(json.loads(sidecar.read_text()).get("version", MODEL_VERSION))
    return CmbModel(network=network, session=classifier_session(network, backend, device),
                    threshold=float(checkpoint["threshold"]), version=version,
                    symmetries=int(checkpoint.get("symmetries", 1)))


def non_max_suppression(points_mm: np.ndarray, scores: np.ndarray, radius_mm: float) -> np.ndarray:
    """Indices of points kept, highest score first, dropping any within ``radius_mm`` of a kept one."""
    keep: list[int] = []
    for n in np.argsort(-scores, kind="stable"):
        if all(np.linalg.norm(points_mm[n] - points_mm[m]) > radius_mm for m in keep):
            keep.append(int(n))
    return np.array(keep, dtype=np.int64)


def apparent_diameter_mm(swi: np.ndarray, mask: np.ndarray, voxel: tuple[int, int, int],
                         spacing_mm: tuple[float, float, float], ratio: float = 0.6) -> float:
    """Equivalent-circle diameter of the dark area (below ``ratio`` x local background) around ``voxel``
    in its slice."""
    k, j, i = voxel
    r = 8
    box = (slice(max(0, j - r), j + r + 1), slice(max(0, i - r), i + r + 1))
    plane = swi[k][box]
    background = local_background(swi[k:k + 1], mask[k:k + 1], spacing_mm, 6.0)[0][box]
    dark = plane < ratio * background
    labels, _ = ndimage.label(dark)
    centre = labels[j - box[0].start, i - box[1].start]
    if centre == 0:
        return float(2 * spacing_mm[1])
    area = float((labels == centre).sum()) * spacing_mm[1] * spacing_mm[2]
    return float(2 * np.sqrt(area / np.pi))


def detect(magnitude: np.ndarray, phase: np.ndarray | None, spacing_mm: tuple[float, float, float],
           model: CmbModel, affine: np.ndarray | None = None, paramagnetic_sign: int = -1) -> DetectionResult:
    """Detect cerebral microbleeds in one SWI study.

    Parameters
    ----------
    magnitude : np.ndarray
        Magnitude (or vendor SWI) ``[k, j, i]``: slices sorted along the normal, rows, columns.
    phase : np.ndarray or None
        Wrapped phase in radians on the same grid, or None (magnitude-only: reduced specificity).
    spacing_mm : tuple of float
        Slice step, row spacing, column spacing.
    model : CmbModel
        From :func:`load_model`.
    affine : np.ndarray, optional
        4x4 ``(k, j, i, 1) -> patient (x, y, z, 1)``; default: axial, origin 0, the spacing given.
    paramagnetic_sign : int
        Sign of paramagnetic phase in the input (-1 right-handed, the convention of the phantom).
    """
    if magnitude.ndim != 3 or (phase is not None and phase.shape != magnitude.shape):
        raise SwiInputError("geometry", f"magnitude {magnitude.shape} and phase "
                                        f"{None if phase is None else phase.shape} are not one 3D grid")
    if affine is None:
        affine = np.eye(4)
        affine[0, 2], affine[1, 1], affine[2, 0] = spacing_mm[2], spacing_mm[1], spacing_mm[0]
        affine[0, 0] = affine[2, 2] = 0.0
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prep = prepare(magnitude, phase, spacing_mm, affine, paramagnetic_sign)
    t1 = time.perf_counter()
    candidates = screen(prep.swi, prep.mask, prep.spacing_mm, model.screening)
    t2 = time.perf_counter()
    voxels = [c.voxel for c in candidates]
    probabilities = np.zeros(len(voxels), dtype=np.float32)
    if voxels:
        patches = extract_patches(prep.swi, prep.hp_phase, voxels)
        probabilities = augmented_probabilities(
            lambda views: model.session.run({INPUT_NAME: views})[OUTPUT_NAME], patches, model.symmetries)
    t3 = time.perf_counter()
    chosen = np.nonzero(probabilities >= model.threshold)[0]
    grid_mm = np.asarray(voxels, dtype=np.float64).reshape(-1, 3)[chosen] * np.asarray(prep.spacing_mm)
    kept = chosen[non_max_suppression(grid_mm, probabilities[chosen], NMS_MM)] if len(chosen) else chosen
    brain = BrainEllipsoid.from_mask(prep.mask, prep.affine)
    to_input = np.linalg.inv(affine)
    findings = []
    for n in kept:
        v = np.asarray(voxels[n], dtype=np.float64)
        patient = prep.affine[:3, :3] @ v + prep.affine[:3, 3]
        input_voxel = to_input[:3, :3] @ patient + to_input[:3, 3]
        findings.append(Microbleed(
            voxel=(int(round(input_voxel[0])), int(round(input_voxel[1])), int(round(input_voxel[2]))),
            patient_mm=(float(patient[0]), float(patient[1]), float(patient[2])),
            diameter_mm=apparent_diameter_mm(prep.swi, prep.mask, voxels[n], prep.spacing_mm),
            probability=float(probabilities[n]), location=brain.classify(patient)))
    timings.update(prepare=1e3 * (t1 - t0), screen=1e3 * (t2 - t1), classify=1e3 * (t3 - t2),
                   total=1e3 * (time.perf_counter() - t0))
    notes = []
    if phase is None:
        notes.append("magnitude-only input: no phase, calcifications and other mimics are separated less well "
                     "(reduced specificity)")
    if not brain.coverage_complete:
        notes.append("the brain reaches the first or last slice: location classes are approximate")
    return DetectionResult(microbleeds=findings, magnitude_only=phase is None,
                           location_coverage_complete=brain.coverage_complete, n_candidates=len(candidates),
                           threshold=model.threshold, timings_ms=timings, notes=notes)
