"""Reading analysis results for the admin views: positive yes/no, a headline, probabilities, the objects.

``jobs.result`` is what the job's pipeline returned. Every pipeline's result has ``positive``, ``model``
and ``objects``; the hemorrhage pipeline's study block follows the JSON of ``dicomnode model predict``
(``study``: subtype -> probability, ``threshold``), and ``ich`` is its verdict; the microbleed pipeline's
has ``count``, ``by_location`` and a ``headline``. Anything missing is reported as unknown rather than
guessed.

The produced objects (the SR of TID 1500 and the SC images) are the DICOM files the delivery writes
under ``[results] dir`` as ``<study>/<series>/<sop>.dcm`` (:mod:`dicomnode.delivery.results_dir`) before
any outbox row exists, so they are listed from there whether or not a destination is configured.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pydicom
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydicom.errors import InvalidDicomError

from db.jobs import DEFAULT_PIPELINE
from dicomnode.admin.common import config_of
from dicomnode.uid_policy import is_file_name_safe

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["studies"])
SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."  # Structured Report storage SOP classes (PS3.4 B.5)
SC_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture storage SOP classes (PS3.4 B.5)
MAX_OBJECTS = 200


def _probabilities(result: dict[str, Any]) -> dict[str, float]:
    for key in ("study", "probabilities"):
        block = result.get(key)
        if isinstance(block, dict):
            return {k: float(v) for k, v in block.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {}


def summarise_result(result: dict[str, Any] | None, pipeline: str = DEFAULT_PIPELINE) -> dict[str, Any]:
    """``{"pipeline", "positive", "ich", "headline", "probabilities", "threshold", "model"}`` of one result.

    ``ich`` is the hemorrhage verdict, None for another pipeline's result.
    """
    empty: dict[str, Any] = {"pipeline": pipeline, "positive": None, "ich": None, "headline": None, "probabilities": {},
             "threshold": None, "model": None}
    if not result:
        return empty
    probabilities = _probabilities(result)
    threshold = result.get("threshold")
    positive = result.get("positive", result.get("ich"))
    if positive is None and "any" in probabilities and isinstance(threshold, (int, float)):
        positive = probabilities["any"] >= threshold
    positive = None if positive is None else bool(positive)
    return {**empty, "positive": positive, "ich": positive if pipeline == DEFAULT_PIPELINE else None,
            "headline": result.get("headline"), "probabilities": probabilities, "threshold": threshold,
            "model": result.get("model")}


def is_uid(value: str) -> bool:
    """A UID the results folder may hold: PS3.5 9.1, or a file-name-safe one ``node.uid_policy`` accepted."""
    return is_file_name_safe(value)


def kind_of(sop_class_uid: str) -> str:
    if sop_class_uid.startswith(SR_PREFIX):
        return "SR"
    if sop_class_uid.startswith(SC_PREFIX):
        return "SC"
    return "object"


def study_objects(results_dir: Path, study_uid: str) -> list[dict[str, Any]]:
    """The result objects kept for a study, SR first, each with ``href`` to download it."""
    if not is_uid(study_uid):
        return []
    out = []
    for path in sorted((results_dir / study_uid).glob("*/*.dcm"))[:MAX_OBJECTS]:
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
            sop_class = str(header.get("SOPClassUID", ""))
        except (OSError, InvalidDicomError) as exc:
            log.warning("result object %s cannot be read: %s", path, exc)
            continue
        out.append({"kind": kind_of(sop_class), "sop_class_uid": sop_class, "sop_instance_uid": path.stem,
                    "series_uid": path.parent.name,
                    "href": f"/api/studies/{study_uid}/objects/{path.stem}"})
    return sorted(out, key=lambda o: (o["kind"] != "SR", o["kind"], o["series_uid"], o["sop_instance_uid"]))


@router.get("/studies/{study_uid}/objects/{sop_instance_uid}", summary="Download a result object (SR or SC)",
            response_class=FileResponse)
def get_object(request: Request, study_uid: str, sop_instance_uid: str) -> FileResponse:
    """The PS3.10 file (``application/dicom``, PS3.18 media type) of one object produced for the study."""
    if not (is_uid(study_uid) and is_uid(sop_instance_uid)):
        raise HTTPException(400, "study_uid and sop_instance_uid must be DICOM UIDs (digits and dots)")
    folder = Path(config_of(request).results.dir) / study_uid
    match = next(iter(sorted(folder.glob(f"*/{sop_instance_uid}.dcm"))), None)
    if match is None:
        raise HTTPException(404, f"no result object {sop_instance_uid} is kept for study {study_uid}")
    return FileResponse(match, media_type="application/dicom", filename=f"{sop_instance_uid}.dcm")
