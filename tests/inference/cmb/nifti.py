"""A minimal NIfTI-1 reader (numpy only) for the real SWI crop; the product itself reads DICOM.

NIfTI-1 header (348 bytes): ``dim`` int16[8] at offset 40, ``datatype`` int16 at 70, ``pixdim`` float32[8]
at 76, ``vox_offset`` float32 at 108, ``scl_slope``/``scl_inter`` float32 at 112/116; voxels follow at
``vox_offset`` in Fortran order (x fastest). https://nifti.nimh.nih.gov/nifti-1/documentation/nifti1fields
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4"}


def read_nifti1(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """Voxel array in the file's axis order (x, y, z[, t]) after scl_slope/inter, and pixdim[1:4]."""
    raw = path.read_bytes()
    endian = "<" if struct.unpack("<i", raw[:4])[0] == 348 else ">"
    dim = struct.unpack(endian + "8h", raw[40:56])
    datatype = struct.unpack(endian + "h", raw[70:72])[0]
    pixdim = struct.unpack(endian + "8f", raw[76:108])
    offset = int(struct.unpack(endian + "f", raw[108:112])[0])
    slope, inter = struct.unpack(endian + "2f", raw[112:120])
    shape = dim[1:1 + dim[0]]
    data = np.frombuffer(raw, dtype=endian + DTYPES[datatype], count=int(np.prod(shape)), offset=offset)
    data = data.reshape(shape, order="F").astype(np.float32)
    if slope not in (0.0, 1.0) or inter != 0.0:
        data = data * (slope or 1.0) + inter
    return data, tuple(float(v) for v in pixdim[1:4])
