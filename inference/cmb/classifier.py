"""The microbleed classifier (:class:`~inference.cmb.network.CmbResNet3d`) as a runtime session.

Input ``patches`` ``(N, 2, 21, 21, 21)`` float32, output ``probabilities`` ``(N,)`` float32: the sigmoid of the
network's logit, the probability of "true microbleed". ``torch`` runs the module itself; ``onnxruntime``
runs its ONNX export (torch.export-based exporter, opset 18, the patch axis dynamic), made in memory when
the session is built.
"""

from __future__ import annotations

import logging
import warnings

import onnx
import torch

from inference.cmb.network import CHANNELS, PATCH, CmbResNet3d
from inference.errors import BackendUnavailableError, EngineError, ExportError, InferenceError
from inference.runtime.session import Session

logger = logging.getLogger(__name__)

INPUT_NAME = "patches"
OUTPUT_NAME = "probabilities"
OPSET = 18
MAX_PATCHES = 4096
BACKENDS = ("torch", "onnxruntime")


class Probabilities(torch.nn.Module):
    """``patches`` -> sigmoid of the classifier's logits."""

    def __init__(self, network: CmbResNet3d) -> None:
        super().__init__()
        self.network = network

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.network(patches))


def export_onnx(network: CmbResNet3d) -> onnx.ModelProto:
    """The classifier (eval mode) as an ONNX graph ``patches`` -> ``probabilities`` with a dynamic patch axis."""
    module = Probabilities(network).eval()
    example = torch.zeros(2, CHANNELS, PATCH, PATCH, PATCH)
    count = torch.export.Dim("patches", min=1, max=MAX_PATCHES)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module, (example,), dynamo=True, opset_version=OPSET, input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME], dynamic_shapes={INPUT_NAME: {0: count}}, verbose=False,
            )
    except Exception as exc:  # torch.export and onnxscript raise many types
        raise ExportError(f"ONNX export of the microbleed classifier failed: {exc}") from exc
    if program is None:
        raise ExportError("torch.onnx.export returned no program (dynamo exporter expected)")
    return program.model_proto


def classifier_session(network: CmbResNet3d, backend: str = "torch", device: str = "cpu",
                       threads: int | None = None) -> Session:
    """A session running ``network`` on ``backend`` (``torch`` or ``onnxruntime``) and ``device``."""
    if backend == "torch":
        from inference.runtime.torch_session import TorchSession

        return TorchSession(Probabilities(network), (INPUT_NAME,), (OUTPUT_NAME,), device)
    if backend == "onnxruntime":
        from inference.runtime.onnxruntime_session import OnnxRuntimeSession, providers_for

        providers_for(device)
        model = export_onnx(network)
        try:
            return OnnxRuntimeSession(model, device, threads)
        except InferenceError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"cannot build the onnxruntime session of the microbleed classifier: {exc}") from exc
    raise BackendUnavailableError(f"the microbleed classifier runs on {' or '.join(BACKENDS)}, got {backend!r}")
