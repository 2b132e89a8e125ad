"""Training and evaluation data of the CMB classifier: phantom studies -> screened candidates -> patches.

Seeds of the three splits are disjoint (:data:`SPLITS`). Training phantoms carry more lesions (6-14
microbleeds, 2-6 calcifications) so that positives are not too rare; those from :data:`SMALL_FROM` draw only
small microbleeds (1.5-3 mm source diameter, the classifier's validation misses), and those from
:data:`SMALL_CALCIFICATION_FROM` 6-10 small calcifications (1.5-3 mm: a small, strongly diamagnetic sphere can
give its voxels the paramagnetic phase sign once the phase wraps, so the classifier must learn it from the
whole dipole pattern). Validation and test phantoms use the generator's own distribution (0-12 microbleeds,
0-4 calcifications), except the third validation block (:data:`CALCIFICATION_VALIDATION_FROM`): 3-8
calcifications of the generator's sizes each, so that calcifications reported as microbleeds can be measured. A candidate is positive when it
matches a true microbleed (:func:`inference.cmb.evaluation.match_radius_mm`); its kind records whether it
sits on a microbleed, a calcification or a mimic (vein, sinus edge, noise).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.cmb.candidates import screen
from inference.cmb.evaluation import match_radius_mm
from inference.cmb.patches import extract_patches
from inference.cmb.phantom.study import SwiPhantom, generate_swi_phantom
from inference.cmb.preprocess import prepare

logger = logging.getLogger(__name__)

SPLITS: dict[str, range] = {"train": range(1000, 1080), "validation": range(2000, 2040), "test": range(3000, 3010)}
SMALL_FROM = 1036          # training seeds 1036-1059 draw only small microbleeds (1.5-3 mm)
SMALL_CALCIFICATION_FROM = 1060     # training seeds from here draw 6-10 small calcifications (1.5-3 mm)
CALCIFICATION_VALIDATION_FROM = 2020    # validation seeds from here draw 3-8 calcifications
KINDS = ("mimic", "microbleed", "calcification")
STORED_PATCH = 23          # 21 + 2: room for a +-1 voxel jitter at training time


def phantom_for(split: str, seed: int) -> SwiPhantom:
    """The phantom of one seed of a split (72 slices, whole brain)."""
    rng = np.random.default_rng(seed + 7)
    if split == "train" and seed >= SMALL_CALCIFICATION_FROM:
        return generate_swi_phantom(seed, n_microbleeds=int(rng.integers(6, 15)),
                                    n_calcifications=int(rng.integers(6, 11)), calcification_mm=(1.5, 3.0))
    if split == "train":
        return generate_swi_phantom(seed, n_microbleeds=int(rng.integers(6, 15)),
                                    n_calcifications=int(rng.integers(2, 7)),
                                    microbleed_mm=(1.5, 3.0) if seed >= SMALL_FROM else (1.5, 5.0))
    if split == "validation" and seed >= CALCIFICATION_VALIDATION_FROM:
        return generate_swi_phantom(seed, n_microbleeds=int(rng.integers(0, 13)),
                                    n_calcifications=int(rng.integers(3, 9)))
    return generate_swi_phantom(seed)


@dataclass
class SubjectData:
    """Candidates of one phantom: patches (3 channels: SWI, high-pass phase, magnitude), labels, truth."""

    seed: int
    patches: np.ndarray          # (n, 3, 23, 23, 23) float16
    voxels: np.ndarray           # (n, 3) int
    kinds: np.ndarray            # (n,) index into KINDS
    spacing_mm: tuple[float, float, float]
    truth: list[dict[str, object]]


def candidate_kinds(voxels: np.ndarray, phantom: SwiPhantom) -> np.ndarray:
    """Kind of each candidate voxel: the nearest lesion within its match radius, else mimic."""
    kinds = np.zeros(len(voxels), dtype=np.int8)
    scale = np.asarray(phantom.spacing_mm)
    best = np.full(len(voxels), np.inf)
    for lesion in phantom.lesions:
        d = np.linalg.norm((voxels - np.asarray(lesion.centre_voxel)) * scale, axis=1)
        hit = (d <= match_radius_mm(lesion.diameter_mm)) & (d < best)
        kinds[hit] = KINDS.index(lesion.kind)
        best = np.where(hit, d, best)
    return kinds


def build_subject(split: str, seed: int) -> SubjectData:
    """Generate, prepare and screen one phantom; extract its candidate patches."""
    phantom = phantom_for(split, seed)
    prep = prepare(phantom.magnitude, phantom.phase, phantom.spacing_mm, phantom.affine)
    candidates = screen(prep.swi, prep.mask, prep.spacing_mm)
    voxels = np.array([c.voxel for c in candidates], dtype=np.int64).reshape(-1, 3)
    two = extract_patches(prep.swi, prep.hp_phase, [tuple(v) for v in voxels], STORED_PATCH)
    mag = extract_patches(prep.magnitude, None, [tuple(v) for v in voxels], STORED_PATCH)[:, :1]
    patches = np.concatenate([two, mag], axis=1).astype(np.float16)
    truth = [{"kind": t.kind, "centre_mm": list(np.asarray(t.centre_voxel) * np.asarray(phantom.spacing_mm)),
              "diameter_mm": t.diameter_mm, "location": t.location} for t in phantom.lesions]
    return SubjectData(seed, patches, voxels, candidate_kinds(voxels, phantom), phantom.spacing_mm, truth)


def save_split(subjects: list[SubjectData], path: Path) -> None:
    """Store one split as an ``.npz`` (patches, voxels, kinds, subject index) plus the truth as JSON text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, patches=np.concatenate([s.patches for s in subjects]),
             voxels=np.concatenate([s.voxels for s in subjects]),
             kinds=np.concatenate([s.kinds for s in subjects]),
             subject=np.concatenate([np.full(len(s.kinds), n) for n, s in enumerate(subjects)]),
             seeds=np.array([s.seed for s in subjects]),
             spacing=np.array([s.spacing_mm for s in subjects]),
             truth=np.array(json.dumps([s.truth for s in subjects])))


def build_split(split: str, out_dir: Path) -> Path:
    """Build and store every subject of ``split``; return the file."""
    subjects = []
    for seed in SPLITS[split]:
        subject = build_subject(split, seed)
        logger.info("%s seed %d: %d candidates, %d on microbleeds of %d", split, seed, len(subject.kinds),
                    int((subject.kinds == 1).sum()), sum(t["kind"] == "microbleed" for t in subject.truth))
        subjects.append(subject)
    path = out_dir / f"{split}.npz"
    save_split(subjects, path)
    return path
