"""The hemorrhage model (CNN-BiLSTM on axial head CT): one series in, probabilities out.

``volume`` (DICOM datasets -> HU volume), ``preprocess`` (CT windows, resampling), ``network`` (torch
model), ``checkpoint`` (weights), ``export`` (ONNX), ``predictor`` and ``sessions`` (its encoder and
sequence sessions on :mod:`inference.runtime`), ``prediction`` (the result); ``phantoms``, ``realct``,
``training`` and ``evaluation`` make and judge the weights. Importing this package imports nothing heavy;
import the submodules you need.
"""
