"""Ground truth of a written phantom as JSON: study labels, per-slice labels keyed by SOP Instance UID.

Shape (labels are 0/1 in the class order of :data:`inference.ich.labels.LABELS`)::

    {"seed": 7, "request": "SDH", "classes": [...],
     "study_instance_uid": ..., "series_instance_uid": ...,
     "study": {"any": 1, "epidural": 0, ...},
     "slices": {"<SOP Instance UID>": {"instance_number": 1, "file": "CT0001.dcm", "any": 0, ...}, ...},
     "lesions": [...], "mimics": [...], "geometry": {...}}
"""

from __future__ import annotations

import json
from pathlib import Path

from inference.ich.phantoms.dicom_writer import phantom_uids
from inference.ich.phantoms.study import PhantomStudy

GROUND_TRUTH_NAME = "ground_truth.json"


def ground_truth(study: PhantomStudy, files: list[Path] | None = None) -> dict[str, object]:
    """The ground-truth document of ``study`` (``files``: the written paths, in slice order)."""
    uids = phantom_uids(study)
    g = study.geometry
    slices = {}
    for index, uid in enumerate(uids.sop_instances):
        entry: dict[str, object] = {"instance_number": index + 1}
        if files is not None:
            entry["file"] = files[index].name
        entry.update({name: int(study.slice_labels[index, i]) for i, name in enumerate(study.classes)})
        slices[uid] = entry
    return {
        "seed": study.seed,
        "request": study.request,
        "classes": list(study.classes),
        "study_instance_uid": uids.study,
        "series_instance_uid": uids.series,
        "study": {name: int(study.study_labels[i]) for i, name in enumerate(study.classes)},
        "slices": slices,
        "lesions": list(study.lesions),
        "mimics": list(study.mimics),
        "geometry": {
            "slices": study.n_slices,
            "rows": g.rows,
            "columns": g.cols,
            "pixel_spacing_mm": list(g.pixel_spacing),
            "slice_thickness_mm": g.slice_thickness,
            "gantry_tilt_deg": g.gantry_tilt,
            "image_orientation_patient": [float(v) for v in g.orientation],
        },
    }


def write_ground_truth(study: PhantomStudy, out_dir: str | Path, files: list[Path] | None = None) -> Path:
    """Write :func:`ground_truth` to ``out_dir/ground_truth.json``; return its path."""
    path = Path(out_dir) / GROUND_TRUTH_NAME
    path.write_text(json.dumps(ground_truth(study, files), indent=2) + "\n", encoding="utf-8")
    return path
