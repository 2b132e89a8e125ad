"""The models the node runs, on one runtime layer.

``runtime`` (backend-neutral sessions: ONNX Runtime, torch, TensorRT, Triton, and the backend choice),
``ich`` (the hemorrhage model on head CT), ``cmb`` (the microbleed detector on SWI), ``errors`` (what they
raise). ``runtime`` imports no model package and the model packages do not import each other. Imports numpy,
torch, pydicom, onnx and the backends, never ``dicomnode`` or ``db``. Importing this package imports nothing
heavy; import the submodules you need.
"""
