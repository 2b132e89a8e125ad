"""The hemorrhage pipeline's analysis of one claimed job (the contract of :mod:`dicomnode.workers.step`).

What it does, each stage timed into ``jobs.timings``::

    Ticket (job id, series UID, snapshot of instances)
      -> source datasets (read from storage)                         load_ms
      -> inference.Volume (HU, geometry, tilt)                       volume_ms
      -> intracranial mask + inference.ich.domain.assess_domain          domain_ms
         (out of the model's domain: the results say "indeterminate" and why)
      -> engine.predict(volume, intracranial) -> Prediction          inference_ms
      -> SR (TID 1500) + SEG + SC (:mod:`.results`)                  reports_ms
      -> result files, durable, no transaction open                  enqueue_ms
         then outbox rows in a short transaction (dicomnode.delivery)
      -> AnalysisOutcome(result, timings_ms)
"""

from __future__ import annotations

import time

from db.jobs import Ticket
from dicomnode.errors import UnusableSeries
from dicomnode.pipelines.ich_ct.results import ReportContext, build_results
from dicomnode.pipelines.ich_ct.runtime import ModelRuntime
from dicomnode.pipelines.ich_ct.sources import complete_headers
from dicomnode.workers.step import AnalysisOutcome, StepContext, elapsed_ms, load_series, store_results
from inference.errors import VolumeError
from inference.ich.domain import assess_domain
from inference.ich.postprocess import series_intracranial_mask
from inference.ich.volume import Volume


def run_analysis(job: Ticket, context: StepContext, runtime: ModelRuntime) -> AnalysisOutcome:
    """Read the job's series with the model, write its SR and SC images, and queue them for delivery."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    datasets = load_series(job, context, job.series_uid, job.max_instance_id)
    timings["load_ms"] = elapsed_ms(start)

    start = time.perf_counter()
    try:
        volume = Volume.from_datasets(datasets, max_obliquity_degrees=context.config.selection.max_tilt_degrees)
    except VolumeError as exc:
        raise UnusableSeries(f"series {job.series_uid}: {exc}") from exc
    datasets = complete_headers(datasets, volume)
    timings["volume_ms"] = elapsed_ms(start)

    start = time.perf_counter()
    intracranial = series_intracranial_mask(volume.hu, volume.spacing)
    domain = assess_domain(volume, datasets, intracranial=intracranial)
    timings["domain_ms"] = elapsed_ms(start)

    start = time.perf_counter()
    engine = runtime.engine
    threshold = runtime.threshold
    prediction = engine.predict(volume, intracranial=intracranial)
    timings["inference_ms"] = elapsed_ms(start)

    start = time.perf_counter()
    report = ReportContext.for_job(
        job.series_uid, job.version, engine.info.model_hash, threshold,
        max_key_slices=context.config.reports.max_key_slices, parameters={"backend": engine.description},
        created_at=job.created_at, segmentation=context.config.reports.segmentation,
        indeterminate_reasons=() if domain.in_domain else domain.reasons,
    )
    results = build_results(prediction, datasets, report, hu=volume.hu)
    timings["reports_ms"] = elapsed_ms(start)

    start = time.perf_counter()
    newer = store_results(job, context, results)
    timings["enqueue_ms"] = elapsed_ms(start)

    summary = prediction.to_dict(threshold)
    del summary["slices"]  # per-slice probabilities are in the SR; the job row keeps the study level
    result = {
        **summary,
        "series_uid": job.series_uid,
        "slices": volume.num_slices,
        "tilt_degrees": round(volume.tilt_degrees, 2),
        "in_domain": domain.in_domain,
        "indeterminate_reasons": list(() if domain.in_domain else domain.reasons),
        "model": {**summary["model"], "hash": engine.info.model_hash, "trained": engine.info.trained},
        "objects": [{"sop_instance_uid": str(ds.SOPInstanceUID), "sop_class_uid": str(ds.SOPClassUID)} for ds in results],
        "delivered": newer is None,
        "superseded_by": newer,
    }
    return AnalysisOutcome(result=result, timings_ms=timings)
