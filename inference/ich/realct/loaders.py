"""Readers of the real head-CT volumes under ``../shared/data/real-ct/`` (one per folder format).

Every reader returns a :class:`RealVolume`: HU as float32 ``[z, y, x]`` in the display order of
:class:`inference.ich.volume.Volume` (slices foot to head, rows anterior to posterior, columns patient right
to patient left, i.e. the LPS patient axes of PS3.3 C.7.6.2.1.1), with the spacing in mm.

Formats (see ``../shared/data/README.md``):

``ge-head-dcmqa``, ``visible-human-female-head``
    DICOM slices, read through :meth:`inference.ich.volume.Volume.from_datasets` (rescale to HU, sorted
    along the slice normal; the GE series keeps its gantry tilt and its Pixel Padding Value -1500,
    which is set to -1024 HU, air).
``stanford-cthead``
    Headerless ``CThead.N``, 256x256 big-endian uint16, ``CThead.1`` at the vertex, about 1x1x2 mm;
    HU = value - 1024.
``vtk-headsq``
    Headerless ``quarter.N`` (``quarter.nhdr``: 64x64 little-endian int16, 3.2x3.2x1.5 mm); HU = value - 1024.
``mricrogl-headct``
    NIfTI-1 uint8 resampled to 1 mm, a wide window and not HU. The gray levels are mapped to HU by
    ``HU = 13 * (g - g_brain) + 32`` where ``g_brain`` is the most frequent gray level of the soft-tissue
    range (the brain), so brain reads 32 HU; each gray step is about 13 HU (README), and the result is
    clipped to [-1024, 3071]. Blood against brain is only two to three gray steps here: shape and
    texture only.

The two cadavers (Visible Human Female, Stanford CThead) read brain at about 55-65 HU post mortem, inside
the range of acute blood. :func:`correct_postmortem_brain` shifts the intracranial soft tissue down so
that the brain's median reads :data:`NORMAL_BRAIN_HU`; it needs the intracranial mask and is applied by
:func:`inference.ich.realct.compartments.segment` callers through :func:`load_corrected`.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from inference.errors import VolumeError
from inference.ich.volume import Volume

NORMAL_BRAIN_HU = 32.0
"""Median HU of living adult brain parenchyma (grey and white matter together) that cadaver brains are shifted to."""

SOFT_TISSUE_HU = (15.0, 90.0)
"""HU range taken as brain soft tissue when the post-mortem shift is measured and applied."""

AIR_HU = -1024.0
HU_MAX = 3071.0


@dataclass(frozen=True, eq=False)
class RealVolume:
    """One real head CT.

    Attributes
    ----------
    name : str
        The folder name (the source), e.g. ``ge-head-dcmqa``.
    hu : numpy.ndarray
        float32 [z, y, x] in HU, slices foot to head, rows anterior to posterior, columns right to left.
    spacing : tuple of float
        (slice, row, column) spacing in mm.
    postmortem : bool
        Whether the brain reads high post mortem (a cadaver) and needs :func:`correct_postmortem_brain`.
    hu_exact : bool
        False where the values are only an approximation of HU (the 8-bit MRIcroGL volume).
    """

    name: str
    hu: np.ndarray
    spacing: tuple[float, float, float]
    postmortem: bool = False
    hu_exact: bool = True


def _dicom(folder: Path, name: str, postmortem: bool) -> RealVolume:
    paths = sorted(folder.glob("*.dcm"))
    if not paths:
        raise VolumeError(f"{folder}: no *.dcm files")
    datasets = [pydicom.dcmread(path) for path in paths]
    volume = Volume.from_datasets(datasets)
    hu = volume.hu.copy()
    padding = datasets[0].get("PixelPaddingValue")
    if padding is not None:
        slope = float(datasets[0].get("RescaleSlope", 1) or 1)
        intercept = float(datasets[0].get("RescaleIntercept", 0) or 0)
        hu[hu <= float(padding) * slope + intercept] = AIR_HU
    return RealVolume(name, np.clip(hu, AIR_HU, HU_MAX), volume.spacing, postmortem=postmortem)


def _raw_stack(folder: Path, stem: str, count: int, shape: tuple[int, int], dtype: str) -> np.ndarray:
    slices = []
    for index in range(1, count + 1):
        path = folder / f"{stem}.{index}"
        data = np.fromfile(path, dtype=dtype)
        if data.size != shape[0] * shape[1]:
            raise VolumeError(f"{path}: {data.size} values, expected {shape[0]}x{shape[1]} {dtype}")
        slices.append(data.reshape(shape))
    return np.stack(slices).astype(np.float32)


def load_stanford(folder: Path) -> RealVolume:
    """Stanford ``CThead.1..113`` (vertex first): reversed to foot to head, HU = value - 1024."""
    count = len(list(folder.glob("CThead.*")))
    hu = _raw_stack(folder, "CThead", count, (256, 256), ">u2")[::-1] - 1024.0
    return RealVolume("stanford-cthead", np.clip(hu, AIR_HU, HU_MAX), (2.0, 1.0, 1.0), postmortem=True)


def load_vtk_headsq(folder: Path) -> RealVolume:
    """VTK ``quarter.1..93`` (``quarter.nhdr``): 64x64 int16, 3.2x3.2x1.5 mm, HU = value - 1024.

    The files run vertex to neck with the face towards the first rows: the slice order is reversed
    (foot to head). The volume covers chin to mid-skull, not the vertex.
    """
    count = len([p for p in folder.glob("quarter.*") if p.suffix[1:].isdigit()])
    hu = _raw_stack(folder, "quarter", count, (64, 64), "<i2")[::-1] - 1024.0
    return RealVolume("vtk-headsq", np.clip(hu, AIR_HU, HU_MAX), (1.5, 3.2, 3.2))


def read_nifti_u8(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """A gzipped NIfTI-1 uint8 volume -> (array [k, j, i], (dk, dj, di) in mm); other types are refused."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if struct.unpack("<i", raw[:4])[0] != 348:
        raise VolumeError(f"{path}: not a little-endian NIfTI-1 file (sizeof_hdr != 348)")
    dims = struct.unpack("<8h", raw[40:56])
    datatype = struct.unpack("<h", raw[70:72])[0]
    pixdim = struct.unpack("<8f", raw[76:108])
    offset = int(struct.unpack("<f", raw[108:112])[0])
    if datatype != 2 or dims[0] < 3:
        raise VolumeError(f"{path}: datatype {datatype} with {dims[0]} dimensions; only 3D uint8 (2) is read")
    nx, ny, nz = dims[1:4]
    data = np.frombuffer(raw, dtype=np.uint8, count=nx * ny * nz, offset=offset).reshape(nz, ny, nx)
    return data, (float(pixdim[3]), float(pixdim[2]), float(pixdim[1]))


def load_mricrogl(folder: Path) -> RealVolume:
    """MRIcroGL ``headct.nii.gz`` (RAS axes, 1 mm, uint8 wide window) -> approximate HU (module docstring)."""
    gray, spacing = read_nifti_u8(folder / "headct.nii.gz")
    counts = np.bincount(gray.ravel(), minlength=256)
    soft = slice(40, 140)
    brain = soft.start + int(np.argmax(counts[soft]))
    hu = 13.0 * (gray.astype(np.float32) - brain) + NORMAL_BRAIN_HU
    # RAS: i runs to patient right, j to anterior; flip both to columns right->left, rows anterior->posterior.
    hu = hu[:, ::-1, ::-1]
    return RealVolume("mricrogl-headct", np.clip(hu, AIR_HU, HU_MAX), spacing, hu_exact=False)


LOADERS: dict[str, Callable[[Path], RealVolume]] = {
    "ge-head-dcmqa": lambda folder: _dicom(folder, "ge-head-dcmqa", postmortem=False),
    "visible-human-female-head": lambda folder: _dicom(folder, "visible-human-female-head", postmortem=True),
    "stanford-cthead": load_stanford,
    "vtk-headsq": load_vtk_headsq,
    "mricrogl-headct": load_mricrogl,
}
"""Folder name under ``real-ct/`` -> its reader."""


def load_real_volume(root: Path, name: str) -> RealVolume:
    """Read the volume in folder ``root / name`` with the reader for that folder name.

    Raises
    ------
    VolumeError
        Unknown folder name, missing or malformed files.
    """
    if name not in LOADERS:
        raise VolumeError(f"real-ct volume {name!r} has no reader; known: {', '.join(LOADERS)}")
    folder = Path(root) / name
    if not folder.is_dir():
        raise VolumeError(f"real-ct volume folder {folder} does not exist")
    return LOADERS[name](folder)


def correct_postmortem_brain(volume: RealVolume, intracranial: np.ndarray) -> RealVolume:
    """Shift a cadaver's intracranial soft tissue so its median reads :data:`NORMAL_BRAIN_HU`.

    Only voxels inside ``intracranial`` with HU in :data:`SOFT_TISSUE_HU` move, by one constant (the
    difference between their median and the normal value); bone, air and the scalp keep their values.
    A living patient's volume is returned unchanged.
    """
    if not volume.postmortem:
        return volume
    hu = volume.hu.copy()
    soft = intracranial & (hu >= SOFT_TISSUE_HU[0]) & (hu <= SOFT_TISSUE_HU[1])
    if soft.sum() < 1000:
        raise VolumeError(f"{volume.name}: too little intracranial soft tissue ({int(soft.sum())} voxels) to correct")
    shift = float(np.median(hu[soft])) - NORMAL_BRAIN_HU
    hu[soft] -= shift
    return RealVolume(volume.name, hu, volume.spacing, postmortem=False, hu_exact=volume.hu_exact)
