"""Reading an analysis result (``jobs.result``) for the admin views: ICH yes/no, probabilities, objects.

``jobs.result`` is what the worker's analysis step returned. Its study block follows the JSON of
``dicomnode model predict`` (``study``: subtype -> probability, ``positive``, ``threshold``, ``model``);
the result objects (the SR of TID 1500 and the SC images, PS3.3 A.35.13 / A.8) are listed under
``objects`` as ``{"kind": "SR"|"SC", "sop_instance_uid", "series_uid", "path"}``. Anything missing is
reported as unknown rather than guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from db.jobs import Job
from dicomnode.admin.common import sessions_of

router = APIRouter(prefix="/api", tags=["studies"])
SUBTYPES = ("any", "epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural")


def _probabilities(result: dict[str, Any]) -> dict[str, float]:
    for key in ("study", "probabilities"):
        block = result.get(key)
        if isinstance(block, dict):
            return {k: float(v) for k, v in block.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {}


def summarise_result(result: dict[str, Any] | None) -> dict[str, Any]:
    """``{"ich": bool | None, "probabilities": {...}, "threshold": t, "model": {...}}`` of one result."""
    if not result:
        return {"ich": None, "probabilities": {}, "threshold": None, "model": None}
    probabilities = _probabilities(result)
    threshold = result.get("threshold")
    ich = result.get("positive", result.get("ich"))
    if ich is None and "any" in probabilities and isinstance(threshold, (int, float)):
        ich = probabilities["any"] >= threshold
    return {"ich": None if ich is None else bool(ich), "probabilities": probabilities, "threshold": threshold,
            "model": result.get("model")}


def _listed_objects(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    objects = (result or {}).get("objects")
    return [o for o in objects if isinstance(o, dict) and o.get("sop_instance_uid")] if isinstance(objects, list) else []


def result_objects(job: Job) -> list[dict[str, Any]]:
    """The SR/SC objects of a job, each with ``href`` to download it (when its file is kept)."""
    out = []
    for obj in _listed_objects(job.result):
        uid = str(obj["sop_instance_uid"])
        out.append({
            "kind": str(obj.get("kind") or obj.get("modality") or "object"),
            "sop_instance_uid": uid,
            "series_uid": obj.get("series_uid"),
            "href": f"/api/jobs/{job.id}/objects/{uid}" if obj.get("path") else None,
        })
    return out


@router.get("/jobs/{job_id}/objects/{sop_instance_uid}", summary="Download a result object (SR or SC)",
            response_class=FileResponse)
def get_object(request: Request, job_id: int, sop_instance_uid: str) -> FileResponse:
    """The DICOM file (``application/dicom``, PS3.18 media type) of one object a job produced."""
    with sessions_of(request)() as session:
        job = session.get(Job, job_id)
        listed = _listed_objects(job.result if job else None)
    match = next((o for o in listed if o["sop_instance_uid"] == sop_instance_uid and o.get("path")), None)
    if match is None:
        raise HTTPException(404, f"job {job_id} has no object {sop_instance_uid}")
    path = Path(str(match["path"]))
    if not path.is_file():
        raise HTTPException(404, f"the file of object {sop_instance_uid} is no longer kept")
    return FileResponse(path, media_type="application/dicom", filename=f"{sop_instance_uid}.dcm")
