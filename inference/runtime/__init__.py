"""The runtime layer every model runs on: one :class:`~inference.runtime.session.Session` per backend.

A session is a compiled graph with named inputs and outputs, ``run(dict) -> dict`` of numpy arrays:
ONNX Runtime (:mod:`.onnxruntime_session`), torch (:mod:`.torch_session`), TensorRT
(:mod:`.tensorrt_session`), Triton (:mod:`.triton_session`); :mod:`.backends` chooses among them. The
backends are imported only by the module that builds their session. Imports no model package.
"""
