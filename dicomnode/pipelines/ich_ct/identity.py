"""Who made a hemorrhage result: algorithm identification, device observer, series description.

Shared by the SR, the SEG and the SC images so that each object names the same algorithm the same way
(PS3.16 TID 4019 Algorithm Identification, TID 1004 Device Observer); their times come from
:mod:`dicomnode.results.times`.
"""

from __future__ import annotations

import highdicom as hd
from pydicom.sr.codedict import codes

from dicomnode.pipelines.ich_ct.context import ReportContext
from inference.ich.prediction import Prediction

LONG_STRING = 64  # PS3.5 Table 6.2-1: LO holds at most 64 characters


def series_description(prediction: Prediction, kind: str) -> str:
    """Series Description naming the algorithm, e.g. ``AI ICH SR ich-vgg-bilstm 1.0.0`` (LO, 64 chars)."""
    return f"AI ICH {kind} {prediction.model_name} {prediction.model_version}".strip()[:LONG_STRING]


def algorithm_parameters(prediction: Prediction, context: ReportContext) -> dict[str, str]:
    """The parameters reported with the algorithm, each key once (the context's values win)."""
    parameters = {"operating threshold": f"{context.threshold:g}", "max key slices": str(context.max_key_slices)}
    if prediction.backend:
        parameters["backend"] = prediction.backend
    parameters.update(context.parameters)
    return parameters


def algorithm_version(prediction: Prediction, context: ReportContext) -> str:
    """Model version and weights hash, e.g. ``2.2.0 (weights sha256 ab12...)``."""
    return f"{prediction.model_version or 'unversioned'} (weights sha256 {context.model_hash})"


def algorithm_identification(prediction: Prediction, context: ReportContext) -> hd.sr.AlgorithmIdentification:
    """TID 4019 Algorithm Identification: name, version (model version and weights hash), parameters."""
    return hd.sr.AlgorithmIdentification(
        name=prediction.model_name or "unnamed model",
        version=algorithm_version(prediction, context),
        parameters=[f"{key}={value}" for key, value in sorted(algorithm_parameters(prediction, context).items())],
    )


def observation_context(prediction: Prediction, context: ReportContext) -> hd.sr.ObservationContext:
    """TID 1001 with the algorithm as the device observer (TID 1004)."""
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=context.uids.device,
        name=prediction.model_name or "unnamed model",
        manufacturer_name=context.manufacturer,
        model_name=f"{prediction.model_name} {prediction.model_version}".strip()[:LONG_STRING],
    )
    return hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=device
        )
    )
