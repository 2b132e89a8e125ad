"""Everything about the hemorrhage model: one head-CT series in, probabilities out.

``volume`` (DICOM datasets -> HU volume), ``preprocess`` (CT windows, resampling), ``network`` (torch
model), ``checkpoint`` (weights), ``export`` (ONNX), ``predictor`` and ``backend`` (its two sessions on the ``runtime`` layer: torch, ONNX Runtime, TensorRT, Triton),
``prediction`` (the result). Imports numpy, torch, pydicom, onnx and the backends, never ``dicomnode``
or ``db``. Importing this package imports nothing heavy; import the submodules you need.
"""
