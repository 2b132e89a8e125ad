"""The microbleed pipeline object: SWI selection, the two-stage detector of ``inference.cmb``, SR and SC."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydicom.dataset import Dataset
from pydicom.uid import Comprehensive3DSRStorage, SecondaryCaptureImageStorage

from db.jobs import Ticket
from dicomnode.config import Config
from dicomnode.errors import AnalysisError, UnusableSeries
from dicomnode.pipelines.base import Study, Verdict, pipeline_settings
from dicomnode.pipelines.cmb_swi.context import SERIES_NUMBERS, CmbReport
from dicomnode.pipelines.cmb_swi.results import build_results
from dicomnode.pipelines.cmb_swi.selection import select_swi
from dicomnode.workers.step import AnalysisOutcome, StepContext, elapsed_ms, load_series, store_results
from inference.cmb import CmbModel, SwiInputError, detect, load_model, load_swi
from inference.cmb.detector import DEFAULT_WEIGHTS


class CmbSwiSettings(BaseModel):
    """``[pipelines.cmb_swi]``: the microbleed pipeline's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    weights: Path | None = Field(None, description="classifier checkpoint; empty: the shipped weights")
    allow_magnitude_only: bool = Field(True, description="run SWI without phase, with reduced specificity")
    paramagnetic_phase_sign: Literal[-1, 1] = Field(
        -1, description="sign of paramagnetic sources in the input phase (-1: right-handed, the phantom's)")
    max_key_images: int = Field(6, ge=0, le=50, description="SC key images per study (slices with microbleeds)")


@dataclass(frozen=True)
class LoadedCmbModel:
    """The classifier, its weights' sha256 (result UIDs and TID 4019) and the settings it runs with."""

    model: CmbModel
    model_hash: str
    settings: CmbSwiSettings


class CmbSwi:
    """Cerebral microbleeds on MR SWI (magnitude + phase); ``[pipelines.cmb_swi]`` configures it."""

    name = "cmb_swi"
    produces: tuple[str, ...] = (str(Comprehensive3DSRStorage), str(SecondaryCaptureImageStorage))
    series_numbers = SERIES_NUMBERS

    def settings(self, config: Config) -> CmbSwiSettings:
        """The validated ``[pipelines.cmb_swi]`` section (ConfigError naming the key)."""
        return pipeline_settings(config, self.name, CmbSwiSettings)

    def select(self, headers: Sequence[Dataset], config: Config, study: Study) -> Verdict:
        """:func:`~dicomnode.pipelines.cmb_swi.selection.select_swi` (the input convention is documented there)."""
        return select_swi(headers, study, self.settings(config).allow_magnitude_only, self.name)

    def load_model(self, config: Config) -> LoadedCmbModel:
        """The classifier of ``weights`` (or the shipped one) with its hash; WeightsError when unusable."""
        settings = self.settings(config)
        path = settings.weights or DEFAULT_WEIGHTS
        model = load_model(path)
        return LoadedCmbModel(model, hashlib.sha256(Path(path).read_bytes()).hexdigest(), settings)

    def run(self, job: Ticket, inputs: Sequence[str], model: LoadedCmbModel, context: StepContext) -> AnalysisOutcome:
        """Read the magnitude (and phase) series, detect, write the SR and SC images, queue them."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        datasets = self._load(job, inputs, context)
        timings["load_ms"] = elapsed_ms(start)
        start = time.perf_counter()
        try:
            volume = load_swi(datasets, allow_magnitude_only=model.settings.allow_magnitude_only)
        except SwiInputError as exc:
            raise UnusableSeries(f"series {job.series_uid}: {exc.reason}: {exc}") from exc
        timings["volume_ms"] = elapsed_ms(start)
        start = time.perf_counter()
        result = detect(volume.magnitude, volume.phase, volume.spacing_mm, model.model, volume.affine,
                        paramagnetic_sign=model.settings.paramagnetic_phase_sign)
        timings["inference_ms"] = elapsed_ms(start)
        start = time.perf_counter()
        by_uid = {str(ds.SOPInstanceUID): ds for ds in datasets}
        magnitude = [by_uid[uid] for uid in volume.magnitude_sop_uids]
        report = CmbReport.for_job(
            job, model.model.name, model.model.version, model.model_hash,
            volume.frame_of_reference_uid, model.settings.max_key_images,
            {"operating threshold": f"{result.threshold:g}", "input": "magnitude only" if result.magnitude_only
             else f"magnitude + phase ({volume.phase_convention})"},
        )
        results = build_results(result, magnitude, volume.magnitude, report)
        timings["reports_ms"] = elapsed_ms(start)
        start = time.perf_counter()
        newer = store_results(job, context, results)
        timings["enqueue_ms"] = elapsed_ms(start)
        return AnalysisOutcome(result={
            "positive": bool(result.microbleeds),
            "headline": "; ".join([f"cerebral microbleeds: {len(result.microbleeds)}", *result.notes]),
            "count": len(result.microbleeds),
            "by_location": {where: sum(b.location.value == where for b in result.microbleeds)
                            for where in ("lobar", "deep", "infratentorial")},
            "microbleeds": [{"patient_mm": [round(v, 2) for v in b.patient_mm], "diameter_mm": round(b.diameter_mm, 2),
                             "probability": round(b.probability, 4), "location": b.location.value,
                             "slice": b.voxel[0] + 1} for b in result.microbleeds],
            "candidates": result.n_candidates,
            "magnitude_only": result.magnitude_only,
            "notes": result.notes,
            "threshold": result.threshold,
            "series_uid": job.series_uid,
            "inputs": list(inputs),
            "model": {"name": model.model.name, "version": model.model.version, "hash": model.model_hash},
            "objects": [{"sop_instance_uid": str(ds.SOPInstanceUID), "sop_class_uid": str(ds.SOPClassUID)}
                        for ds in results],
            "delivered": newer is None,
            "superseded_by": newer,
        }, timings_ms={**timings, **{f"detect_{k}_ms": round(v, 1) for k, v in result.timings_ms.items()}})

    def _load(self, job: Ticket, inputs: Sequence[str], context: StepContext) -> list[Dataset]:
        snapshots: dict[str, int] = dict(job.detail.get("input_snapshots", {}))
        datasets: list[Dataset] = []
        for uid in inputs:
            top = job.max_instance_id if uid == job.series_uid else snapshots.get(uid)
            if top is None:
                raise AnalysisError(f"series {job.series_uid}: job {job.id} names input {uid} without its snapshot")
            datasets += load_series(job, context, uid, top)
        return datasets


PIPELINE = CmbSwi()
