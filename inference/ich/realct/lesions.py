"""Synthetic acute bleeds inserted into a segmented real head CT, each subtype where it occurs.

Every lesion is a partial-volume fraction map (0-1 per voxel) on the background's grid, kept in its
bounding box. Shapes are defined in millimetres; shapes that cross slices are sampled at several
positions inside each slice's thickness and averaged, so a thick slice shows the partial volume of
what it cuts. Blood replaces the tissue by its fraction and keeps the scan's own noise:
``hu' = hu (1 - f) + f (blood + hu - smooth_hu)`` (``smooth_hu`` the background smoothed in-plane).

Placement rules (compartments from :mod:`inference.ich.realct.compartments`):

- **EDH** (epidural): biconvex lens against the inner table of the convexity: the voxels less than
  ``T (1 - (s/R)^2)`` below the inner table, ``s`` the distance from a point on the table, T 5-20 mm,
  R 18-40 mm; it stays on its side of the midline (it does not cross the sagittal suture) and R keeps it
  within the span of one bone.
- **SDH** (subdural): a crescent ``T sqrt(1 - (s/R)^2)`` thick along the convexity (T 3-14 mm, R 40-75 mm,
  one hemisphere, centred between 30% and 75% of the brain's height); or along the falx (a 2-5 mm layer beside the midline); or on the tentorium (a 2-5 mm
  layer over the posterior fossa, rising anteriorly).
- **SAH** (subarachnoid): the sulcal / cisternal CSF within R (15-45 mm) of a point in it, filled 60-100%:
  convexity sulci, or fissures and basal cisterns (deep, lower half of the brain).
- **IPH** (intraparenchymal): a lobulated ellipsoid (radii 4-22 mm) centred in parenchyma: basal ganglia
  (deep, 10-35 mm from the midline), lobar, or posterior fossa (lowest third of the brain, posterior);
  a rim of oedema 2-8 mm wide, 3-10 HU lower than the brain, in the parenchyma around it.
- **IVH** (intraventricular): blood layering dependently in the ventricles (patient supine: the posterior
  part, rows of larger index, below a fluid level at 40-85% of the ventricle's depth), or a cast (all).

Blood HU: acute 55-85 HU; one lesion in six is hyperacute or anaemic at 40-55 HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.ich.realct.background import Background
from inference.ich.realct.compartments import PARENCHYMA, SKULL, SULCAL_CSF, VENTRICLE

SUBTYPES = {"EDH": "epidural", "SDH": "subdural", "SAH": "subarachnoid", "IPH": "intraparenchymal",
            "IVH": "intraventricular"}
"""Subtype code -> label name of :data:`inference.ich.labels.LABELS`."""

ACUTE_HU = (55.0, 85.0)
LOW_HU = (40.0, 55.0)
LOW_HU_SHARE = 1 / 6


@dataclass(frozen=True, eq=False)
class Lesion:
    """One inserted lesion.

    Attributes
    ----------
    code : str
        Subtype code (key of :data:`SUBTYPES`).
    site : str
        Where it was placed (``convexity``, ``falx``, ``basal_ganglia``, ...).
    box : tuple of slice
        Its bounding box in the background's grid.
    fraction : numpy.ndarray
        float32 blood fraction in the box, 0-1.
    blood_hu : float
        HU of the blood.
    """

    code: str
    site: str
    box: tuple[slice, slice, slice]
    fraction: np.ndarray
    blood_hu: float

    @property
    def label(self) -> str:
        return SUBTYPES[self.code]

    def full(self, shape: tuple[int, ...]) -> np.ndarray:
        """The fraction map on the whole grid of ``shape``."""
        out = np.zeros(shape, np.float32)
        out[self.box] = self.fraction
        return out

    def volume_ml(self, spacing: tuple[float, float, float]) -> float:
        return float(self.fraction.sum()) * float(np.prod(spacing)) / 1000.0


def _blood_hu(rng: np.random.Generator) -> float:
    low, high = LOW_HU if rng.random() < LOW_HU_SHARE else ACUTE_HU
    return float(rng.uniform(low, high))


def _pick(candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    points = np.argwhere(candidates)
    return None if len(points) == 0 else points[rng.integers(len(points))]


def _box(centre: np.ndarray, radius_mm: float, bg: Background) -> tuple[slice, slice, slice]:
    k, j, i = (slice(max(0, int(c - radius_mm / s) - 1), min(n, int(c + radius_mm / s) + 2))
               for c, s, n in zip(centre, bg.spacing, bg.hu.shape))
    return k, j, i


def _grid(box: tuple[slice, slice, slice], bg: Background, centre: np.ndarray) -> tuple[np.ndarray, ...]:
    """Millimetre offsets from ``centre`` of the box's voxels, as broadcastable (z, y, x)."""
    return tuple((np.arange(b.start, b.stop) - c).astype(np.float32)[tuple(slice(None) if a == i else None for a in range(3))] * s
                 for i, (b, c, s) in enumerate(zip(box, centre, bg.spacing)))


def _sub_offsets(bg: Background) -> np.ndarray:
    """Positions (mm) inside a slice's thickness at which shapes are sampled: one per mm, up to five."""
    count = int(np.clip(round(bg.spacing[0]), 1, 5))
    return ((np.arange(count) + 0.5) / count - 0.5) * bg.spacing[0]


def _brain_z(bg: Background) -> tuple[int, int]:
    """First and last slice of the brain: intracranial area at least a quarter of the largest slice's
    (the spinal canal below the foramen magnum does not count)."""
    area = bg.compartments.intracranial.sum(axis=(1, 2))
    zs = np.flatnonzero(area >= 0.25 * area.max())
    return (int(zs[0]), int(zs[-1])) if zs.size else (0, bg.hu.shape[0] - 1)


def _z_band(bg: Background, low: float, high: float) -> np.ndarray:
    first, last = _brain_z(bg)
    z = np.arange(bg.hu.shape[0])
    band = (z >= first + low * (last - first)) & (z <= first + high * (last - first))
    return band[:, None, None]


def _side(bg: Background, box: tuple[slice, slice, slice], column: float, margin_mm: float = 1.0) -> np.ndarray:
    mid = bg.compartments.midline_x
    x = np.arange(box[2].start, box[2].stop)[None, None, :]
    sign = 1.0 if column >= mid else -1.0
    return (x - mid) * sign * bg.spacing[2] > margin_mm


def _table_lesion(bg: Background, rng: np.random.Generator, code: str) -> Lesion | None:
    """EDH lens or convexity SDH crescent under the inner table."""
    comp = bg.compartments
    edh = code == "EDH"
    low, high = (0.35, 0.85) if edh else (0.3, 0.75)
    centre = _pick(comp.intracranial & (comp.depth_mm < 1.5) & _z_band(bg, low, high) & bg.near_skull, rng)
    if centre is None:
        return None
    thick = rng.uniform(5, 20) if edh else rng.uniform(3, 14)
    radius = rng.uniform(18, 40) if edh else rng.uniform(40, 75)
    box = _box(centre, radius, bg)
    dz, dy, dx = _grid(box, bg, centre)
    depth = comp.depth_mm[box]
    acc = np.zeros(depth.shape, np.float32)
    for offset in _sub_offsets(bg):
        s2 = ((dz + offset) ** 2 + dy**2 + dx**2) / radius**2
        profile = (1 - s2) if edh else np.sqrt(np.clip(1 - s2, 0, None))
        acc += depth < thick * np.clip(profile, 0, None)
    allowed = comp.intracranial[box] & _side(bg, box, centre[2], 1.0 if edh else 2.0)
    fraction = acc / len(_sub_offsets(bg)) * allowed
    return Lesion(code, "convexity", box, fraction.astype(np.float32), _blood_hu(rng))


def _falx_sdh(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    mid = int(round(comp.midline_x))
    band = np.zeros(comp.intracranial.shape, bool)
    band[:, :, mid] = True
    centre = _pick(band & comp.intracranial & (comp.depth_mm > 10) & _z_band(bg, 0.45, 0.9), rng)
    if centre is None:
        return None
    radius, thick = rng.uniform(25, 50), rng.uniform(2, 5)
    side = 1.0 if rng.random() < 0.5 else -1.0
    box = _box(centre, radius, bg)
    dz, dy, dx = _grid(box, bg, centre)
    x_off = (np.arange(box[2].start, box[2].stop) - comp.midline_x)[None, None, :] * bg.spacing[2] * side
    acc = np.zeros(comp.intracranial[box].shape, np.float32)
    for offset in _sub_offsets(bg):
        inside = ((dz + offset) ** 2 + dy**2) < radius**2
        acc += inside & (x_off > 0) & (x_off < thick * np.sqrt(np.clip(1 - ((dz + offset) ** 2 + dy**2) / radius**2, 0, None)) + 0.5)
    fraction = acc / len(_sub_offsets(bg)) * comp.intracranial[box] * (comp.labels[box] != SKULL)
    return Lesion("SDH", "falx", box, fraction.astype(np.float32), _blood_hu(rng))


def _tentorial_sdh(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    y_centre = float(np.argwhere(comp.intracranial)[:, 1].mean())
    rows = np.arange(comp.intracranial.shape[1])[None, :, None]
    centre = _pick(comp.intracranial & (comp.labels == PARENCHYMA) & _z_band(bg, 0.2, 0.35) & (rows > y_centre + 10 / bg.spacing[1]), rng)
    if centre is None:
        return None
    radius, thick, slope = rng.uniform(25, 45), rng.uniform(2, 5), rng.uniform(0.2, 0.5)
    box = _box(centre, radius, bg)
    dz, dy, dx = _grid(box, bg, centre)
    acc = np.zeros(comp.intracranial[box].shape, np.float32)
    for offset in _sub_offsets(bg):
        height = (dz + offset) - (-slope * dy)  # the tentorium rises anteriorly (towards smaller rows)
        acc += (height > 0) & (height < thick) & ((dy**2 + dx**2) < radius**2)
    fraction = acc / len(_sub_offsets(bg)) * comp.intracranial[box] * (comp.labels[box] != SKULL)
    return Lesion("SDH", "tentorium", box, fraction.astype(np.float32), _blood_hu(rng))


def _sah(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    csf = comp.labels == SULCAL_CSF
    basal = rng.random() < 0.4
    where = (comp.depth_mm >= 12) & _z_band(bg, 0.0, 0.5) if basal else (comp.depth_mm < 20) & _z_band(bg, 0.3, 0.95)
    centre = _pick(csf & where, rng)
    if centre is None:
        return None
    radius = rng.uniform(15, 45)
    box = _box(centre, radius, bg)
    dz, dy, dx = _grid(box, bg, centre)
    s = np.sqrt(dz**2 + dy**2 + dx**2) / radius
    fill = rng.uniform(0.6, 1.0)
    fraction = csf[box] * np.clip(fill * (1.3 - s), 0, fill)
    return Lesion("SAH", "basal_cisterns" if basal else "convexity_sulci", box, fraction.astype(np.float32),
                  _blood_hu(rng))


def _iph(bg: Background, rng: np.random.Generator) -> tuple[Lesion, Lesion | None] | None:
    comp = bg.compartments
    radii = rng.uniform(4, 22) * rng.uniform(0.6, 1.0, size=3)
    reach = float(radii.max() * 1.15)
    site = rng.choice(["basal_ganglia", "lobar", "posterior_fossa"], p=[0.4, 0.4, 0.2])
    lateral = np.abs(np.arange(comp.intracranial.shape[2]) - comp.midline_x)[None, None, :] * bg.spacing[2]
    rows = np.arange(comp.intracranial.shape[1])[None, :, None]
    parenchyma = (comp.labels == PARENCHYMA) & (comp.depth_mm > reach + 2)
    if site == "basal_ganglia":
        where = (lateral > 10) & (lateral < 35) & _z_band(bg, 0.35, 0.65)
    elif site == "posterior_fossa":
        where = _z_band(bg, 0.0, 0.3) & (rows > np.argwhere(comp.intracranial)[:, 1].mean())
    else:
        where = _z_band(bg, 0.3, 0.95)
    centre = _pick(parenchyma & where, rng)
    if centre is None:
        return None
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    lobes = rng.normal(size=(3, 3))
    lobes /= np.linalg.norm(lobes, axis=1, keepdims=True)
    freq, phase = rng.uniform(2, 4, 3), rng.uniform(0, 2 * np.pi, 3)
    edema_mm = rng.uniform(2, 8)
    box = _box(centre, reach + edema_mm, bg)
    dz, dy, dx = _grid(box, bg, centre)
    blood = np.zeros(comp.intracranial[box].shape, np.float32)
    rim = np.zeros_like(blood)
    for offset in _sub_offsets(bg):
        p = np.stack(np.broadcast_arrays(dz + offset, dy, dx), -1)
        local = p @ rotation
        rho = np.linalg.norm(local / radii, axis=-1)
        unit = p / (np.linalg.norm(p, axis=-1, keepdims=True) + 1e-6)
        bump = 1 + 0.12 * np.cos(freq * (unit @ lobes.T) + phase).sum(-1) / 3
        blood += rho < bump
        rim += (rho >= bump) & (rho < bump * (1 + edema_mm / float(radii.mean())))
    n = len(_sub_offsets(bg))
    inside = comp.intracranial[box] & (comp.labels[box] != SKULL)
    lesion = Lesion("IPH", str(site), box, (blood / n * inside).astype(np.float32), _blood_hu(rng))
    edema_fraction = rim / n * (comp.labels[box] == PARENCHYMA) * (1 - lesion.fraction)
    edema = Lesion("IPH", "edema", box, edema_fraction.astype(np.float32), -float(rng.uniform(3, 10)))
    return lesion, edema


def _ivh(bg: Background, rng: np.random.Generator) -> Lesion | None:
    comp = bg.compartments
    ventricles = comp.labels == VENTRICLE
    if ventricles.sum() * np.prod(bg.spacing) < 500:  # under 0.5 ml: nothing to fill
        return None
    points = np.argwhere(ventricles)
    k, j, i = (slice(int(lo), int(hi) + 1) for lo, hi in zip(points.min(0), points.max(0)))
    box = (k, j, i)
    inside = ventricles[box]
    cast = rng.random() < 0.2
    rows = np.arange(box[1].start, box[1].stop)[None, :, None].astype(np.float32)
    if cast:
        fraction = inside.astype(np.float32) * rng.uniform(0.8, 1.0)
        site = "cast"
    else:
        level = float(np.quantile(points[:, 1], rng.uniform(0.4, 0.85)))
        fraction = inside * np.clip(rows - level + 0.5, 0, 1)
        site = "dependent_layer"
    return Lesion("IVH", site, box, fraction.astype(np.float32), _blood_hu(rng))


def make_lesion(bg: Background, code: str, rng: np.random.Generator) -> list[Lesion]:
    """One lesion of subtype ``code`` (plus the oedema of an IPH) in ``bg``; empty when it has no room."""
    if code not in SUBTYPES:
        raise ValueError(f"subtype must be one of {', '.join(SUBTYPES)}, got {code!r}")
    if code == "EDH":
        made = [_table_lesion(bg, rng, "EDH")]
    elif code == "SDH":
        kind = rng.random()
        made = [_table_lesion(bg, rng, "SDH") if kind < 0.6 else _falx_sdh(bg, rng) if kind < 0.85 else _tentorial_sdh(bg, rng)]
    elif code == "SAH":
        made = [_sah(bg, rng)]
    elif code == "IPH":
        pair = _iph(bg, rng)
        made = [] if pair is None else [pair[0], pair[1]]
    else:
        made = [_ivh(bg, rng)]
    return [lesion for lesion in made if lesion is not None and lesion.fraction.sum() > 0]


def apply_lesions(bg: Background, lesions: list[Lesion]) -> np.ndarray:
    """The background's HU with ``lesions`` blended in (blood, then oedema as a HU drop)."""
    hu = bg.hu.copy()
    for lesion in lesions:
        f, box = lesion.fraction, lesion.box
        if lesion.site == "edema":
            hu[box] += f * lesion.blood_hu
        else:
            noise = bg.hu[box] - bg.compartments.smooth_hu[box]
            hu[box] = hu[box] * (1 - f) + f * (lesion.blood_hu + noise)
    return hu


def is_blood(lesion: Lesion) -> bool:
    """Whether ``lesion`` is blood (and so labels slices), not the oedema around an IPH."""
    return lesion.site != "edema"
