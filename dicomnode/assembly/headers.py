"""Read stored instances' headers without decoding (or keeping) their pixel data."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from db.series import InstanceRef

log = logging.getLogger(__name__)

DEFER_BYTES = 1024
"""Values larger than this (Pixel Data) are left on disk: their presence is known, their bytes not read."""


def read_headers(instances: Sequence[InstanceRef]) -> tuple[list[Dataset], list[str]]:
    """Headers of ``instances``; also the SOP Instance UIDs whose files could not be read."""
    headers: list[Dataset] = []
    unreadable: list[str] = []
    for ref in instances:
        try:
            headers.append(pydicom.dcmread(ref.path, defer_size=DEFER_BYTES))
        except (OSError, InvalidDicomError, ValueError) as exc:
            log.warning("stored instance %s cannot be read: %s", ref.sop_instance_uid, exc)
            unreadable.append(ref.sop_instance_uid)
    return headers, unreadable
