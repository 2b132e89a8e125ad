"""A second lesion family, for evaluation only: other shapes and placement rules than :mod:`inference.ich.realct.lesions`.

Training never draws from it (:class:`inference.ich.realct.source.RealInsertionSource` uses
:func:`inference.ich.realct.lesions.make_lesion`); it measures whether the network learned blood in its
compartments or the training family's shapes. Same fraction maps, blood HU and noise blending as the
training family (:func:`inference.ich.realct.lesions.apply_lesions`); every site name differs from the
training family's.

- **EDH**: an elongated lens (two in-plane radii, long 35-60 mm, short 12-25 mm, rotated) 4-15 mm thick,
  low on the convexity (temporal: 15-45% of the brain's height; training: 35-85%).
- **SDH**: a crescent over the high convexity (65-95%) whose thickness ramps along its length
  (``T (0.2 + 0.8 u)``, ``u`` from one end to the other, T 4-16 mm): thick at one pole, thin at the other.
- **SAH**: sulcal / cisternal CSF in a tube (radius 4-10 mm) around a line segment 20-60 mm long: the
  Sylvian fissure (25-55 mm from the midline, 35-65%) or the interhemispheric fissure (within 8 mm of the
  midline, 50-95%); training fills CSF within a ball.
- **IPH**: a union of 2-5 small blobs (radii 3-10 mm, centres up to 12 mm apart): deep near the midline
  (thalamus, 3-15 mm lateral) or subcortical (8-20 mm below the inner table); no oedema.
- **IVH**: a cast of one lateral ventricle's frontal part (rows of the anterior 30-60%), one side only.
"""

from __future__ import annotations

import numpy as np

from inference.ich.realct.background import Background
from inference.ich.realct.compartments import PARENCHYMA, SKULL, SULCAL_CSF, VENTRICLE
from inference.ich.realct.lesions import SUBTYPES, Lesion, _blood_hu, _box, _grid, _pick, _side, _sub_offsets, _z_band

FAMILY = "held-out"


def _lateral_mm(bg: Background) -> np.ndarray:
    x = np.arange(bg.hu.shape[2]) - bg.compartments.midline_x
    lateral: np.ndarray = (np.abs(x) * bg.spacing[2])[None, None, :]
    return lateral


def _rotated(dy: np.ndarray, dx: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(angle), np.sin(angle)
    return c * dy + s * dx, -s * dy + c * dx


def _elongated_edh(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    centre = _pick(comp.intracranial & (comp.depth_mm < 1.5) & _z_band(bg, 0.15, 0.45) & bg.near_skull
                   & (_lateral_mm(bg) > 25), rng)
    if centre is None:
        return None
    long_r, short_r, thick = rng.uniform(35, 60), rng.uniform(12, 25), rng.uniform(4, 15)
    angle = rng.uniform(0, np.pi)
    box = _box(centre, long_r, bg)
    dz, dy, dx = _grid(box, bg, centre)
    u, v = _rotated(dy, dx, angle)
    depth = comp.depth_mm[box]
    acc = np.zeros(depth.shape, np.float32)
    for offset in _sub_offsets(bg):
        s2 = (u**2 + (dz + offset) ** 2) / long_r**2 + v**2 / short_r**2
        acc += depth < thick * np.clip(1 - s2, 0, None)
    fraction = acc / len(_sub_offsets(bg)) * comp.intracranial[box] * _side(bg, box, centre[2])
    return Lesion("EDH", "temporal_elongated", box, fraction.astype(np.float32), _blood_hu(rng))


def _ramped_sdh(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    centre = _pick(comp.intracranial & (comp.depth_mm < 1.5) & _z_band(bg, 0.65, 0.95) & bg.near_skull, rng)
    if centre is None:
        return None
    radius, thick, angle = rng.uniform(35, 65), rng.uniform(4, 16), rng.uniform(0, 2 * np.pi)
    box = _box(centre, radius, bg)
    dz, dy, dx = _grid(box, bg, centre)
    along = np.clip((_rotated(dy, dx, angle)[0] / radius + 1) / 2, 0, 1)
    depth = comp.depth_mm[box]
    acc = np.zeros(depth.shape, np.float32)
    for offset in _sub_offsets(bg):
        inside = ((dz + offset) ** 2 + dy**2 + dx**2) < radius**2
        acc += inside & (depth < thick * (0.2 + 0.8 * along))
    fraction = acc / len(_sub_offsets(bg)) * comp.intracranial[box] * _side(bg, box, centre[2], 2.0)
    return Lesion("SDH", "high_convexity_ramp", box, fraction.astype(np.float32), _blood_hu(rng))


def _fissure_sah(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    csf = comp.labels == SULCAL_CSF
    sylvian = rng.random() < 0.5
    lateral = _lateral_mm(bg)
    where = ((lateral > 25) & (lateral < 55) & _z_band(bg, 0.35, 0.65) if sylvian
             else (lateral < 8) & _z_band(bg, 0.5, 0.95))
    centre = _pick(csf & where, rng)
    if centre is None:
        return None
    half, tube = rng.uniform(10, 30), rng.uniform(4, 10)
    direction = rng.normal(size=3)
    direction[0] *= 0.3  # fissures run mostly in-plane
    direction /= np.linalg.norm(direction)
    box = _box(centre, half + tube, bg)
    p = np.stack(np.broadcast_arrays(*_grid(box, bg, centre)), -1)
    t = np.clip(p @ direction, -half, half)
    distance = np.linalg.norm(p - t[..., None] * direction, axis=-1)
    fill = rng.uniform(0.7, 1.0)
    fraction = csf[box] * fill * (distance < tube)
    site = "sylvian_fissure" if sylvian else "interhemispheric_fissure"
    return Lesion("SAH", site, box, fraction.astype(np.float32), _blood_hu(rng))


def _multilobe_iph(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    deep = rng.random() < 0.5
    radii = rng.uniform(3, 10, size=int(rng.integers(2, 6)))
    offsets = rng.uniform(-1, 1, size=(len(radii), 3)) * 12 / np.sqrt(3)
    reach = float((np.linalg.norm(offsets, axis=1) + radii).max())
    lateral = _lateral_mm(bg)
    where = ((lateral > 3) & (lateral < 15) & _z_band(bg, 0.4, 0.65) if deep
             else (comp.depth_mm > 8) & (comp.depth_mm < 20) & _z_band(bg, 0.35, 0.9))
    centre = _pick((comp.labels == PARENCHYMA) & where, rng)
    if centre is None:
        return None
    box = _box(centre, reach, bg)
    dz, dy, dx = _grid(box, bg, centre)
    acc = np.zeros(comp.intracranial[box].shape, np.float32)
    for offset in _sub_offsets(bg):
        union = np.zeros(acc.shape, bool)
        for (oz, oy, ox), r in zip(offsets, radii):
            union |= ((dz + offset - oz) ** 2 + (dy - oy) ** 2 + (dx - ox) ** 2) < r**2
        acc += union
    inside = comp.intracranial[box] & (comp.labels[box] != SKULL)
    site = "thalamic_multilobe" if deep else "subcortical_multilobe"
    return Lesion("IPH", site, box, (acc / len(_sub_offsets(bg)) * inside).astype(np.float32), _blood_hu(rng))


def _frontal_horn_ivh(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    side = 1.0 if rng.random() < 0.5 else -1.0
    x = np.arange(bg.hu.shape[2])[None, None, :]
    ventricles = (comp.labels == VENTRICLE) & ((x - comp.midline_x) * side > 1)
    if ventricles.sum() * np.prod(bg.spacing) < 250:  # under 0.25 ml on that side
        return None
    points = np.argwhere(ventricles)
    box = tuple(slice(int(lo), int(hi) + 1) for lo, hi in zip(points.min(0), points.max(0)))
    level = float(np.quantile(points[:, 1], rng.uniform(0.3, 0.6)))
    rows = np.arange(box[1].start, box[1].stop)[None, :, None].astype(np.float32)
    fraction = ventricles[box] * np.clip(level - rows + 0.5, 0, 1) * rng.uniform(0.8, 1.0)
    return Lesion("IVH", "frontal_horn_cast", (box[0], box[1], box[2]), fraction.astype(np.float32), _blood_hu(rng))


MAKERS = {"EDH": _elongated_edh, "SDH": _ramped_sdh, "SAH": _fissure_sah, "IPH": _multilobe_iph, "IVH": _frontal_horn_ivh}


def make_heldout_lesion(bg: Background, code: str, rng: np.random.Generator) -> list[Lesion]:
    """One held-out-family lesion of subtype ``code`` in ``bg``; empty when it has no room."""
    if code not in SUBTYPES:
        raise ValueError(f"subtype must be one of {', '.join(SUBTYPES)}, got {code!r}")
    lesion = MAKERS[code](bg, rng)
    return [] if lesion is None or lesion.fraction.sum() == 0 else [lesion]
