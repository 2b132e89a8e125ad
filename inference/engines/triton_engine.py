"""The Triton engine: the model served by an NVIDIA Triton Inference Server, shared by many nodes.

The server holds the two models written by :mod:`inference.triton_repository` (``<prefix>_encoder`` and
``<prefix>_sequence``, ONNX Runtime or TensorRT behind them). Like the local engines this one preprocesses
on the node, sends one request per slice batch to the encoder and one per series to the sequence model,
over Triton's HTTP/REST endpoint (KServe v2 inference protocol with binary tensors) using ``tritonclient``.

``tritonclient[http]`` is optional (``pip install 'dicomnode[triton]'``) and imported only when the engine
is built. At start the engine checks that the server and both models are ready, that their inputs and
outputs are the ones this package exports, and that the model hash Triton serves (configuration parameter
``model_hash``) is the hash of the weights this node loaded, so reports never name a model that did not
compute them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import torch

from inference.checkpoint import ModelInfo
from inference.engines.base import DEFAULT_BATCH_SIZE, Engine
from inference.errors import BackendUnavailableError, EngineError
from inference.export import FEATURES_NAME, INPUT_NAME
from inference.triton_config import ModelSpec, spec_from_json
from inference.triton_repository import DEFAULT_PREFIX, model_names

logger = logging.getLogger(__name__)

ENCODER_OUTPUTS = (FEATURES_NAME, "saliency")
SEQUENCE_OUTPUTS = ("slice_probs", "study_probs")
DEFAULT_TIMEOUT = 60.0


def _import_tritonclient() -> Any:
    try:
        import tritonclient.http as httpclient
    except ImportError as exc:
        raise BackendUnavailableError(
            "the triton backend needs tritonclient: pip install 'dicomnode[triton]' (tritonclient[http])"
        ) from exc
    return httpclient


def split_url(url: str) -> tuple[str, bool]:
    """``http(s)://host:port[/path]`` or ``host:port`` -> (``host:port[/path]``, use TLS)."""
    if not url:
        raise BackendUnavailableError("the triton backend needs inference.triton_url (e.g. http://triton:8000)")
    if "://" not in url:
        return url.rstrip("/"), False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendUnavailableError(f"inference.triton_url must be http://host:port or https://host:port, got {url!r}")
    return (parts.netloc + parts.path).rstrip("/"), parts.scheme == "https"


class TritonEngine(Engine):
    """Run the model on a Triton Inference Server over HTTP.

    Parameters
    ----------
    info
        Identity of the model this node loaded (its hash must match the served model's, when given).
    url
        Triton's HTTP endpoint, ``http://host:8000`` (``https://`` for TLS).
    prefix
        Model names on the server are ``<prefix>_encoder`` and ``<prefix>_sequence``.
    batch_size
        Slices per encoder request (at most the TensorRT plan's profile maximum, 16 by default).
    timeout
        Connection and network timeout in seconds.
    """

    backend = "triton"

    def __init__(
        self, info: ModelInfo, url: str, prefix: str = DEFAULT_PREFIX,
        batch_size: int = DEFAULT_BATCH_SIZE, timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(info, batch_size)
        self._http = _import_tritonclient()
        self.url = url
        self._address, self._ssl = split_url(url)
        self._timeout = timeout
        self._local = threading.local()  # tritonclient clients are not thread-safe: one per thread
        self.encoder_name, self.sequence_name = model_names(prefix)
        self.served: dict[str, ModelSpec] = {}
        self._check_server()

    @property
    def description(self) -> str:
        return f"triton:{self._address}/{self.encoder_name.rsplit('_', 1)[0]}"

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._http.InferenceServerClient(
                self._address, connection_timeout=self._timeout, network_timeout=self._timeout, ssl=self._ssl
            )
            self._local.client = client
        return client

    def _check_server(self) -> None:
        client = self._client()
        try:
            if not client.is_server_ready():
                raise BackendUnavailableError(f"Triton at {self.url} is not ready")
            for name in (self.encoder_name, self.sequence_name):
                if not client.is_model_ready(name):
                    raise BackendUnavailableError(f"Triton at {self.url} has no ready model {name!r}")
                self.served[name] = spec_from_json(client.get_model_config(name))
        except BackendUnavailableError:
            raise
        except Exception as exc:  # connection refused, timeouts, InferenceServerException
            raise BackendUnavailableError(f"Triton at {self.url} cannot be reached: {exc}") from exc
        self._check_interface(self.encoder_name, (INPUT_NAME,), ENCODER_OUTPUTS)
        self._check_interface(self.sequence_name, (FEATURES_NAME,), SEQUENCE_OUTPUTS)
        served_hash = self.served[self.encoder_name].parameters.get("model_hash", "")
        if not served_hash:
            logger.warning("Triton model %s carries no model_hash; cannot confirm it runs %s", self.encoder_name, self.info.model_hash[:12])
        elif served_hash != self.info.model_hash:
            raise BackendUnavailableError(
                f"Triton at {self.url} serves model hash {served_hash[:12]}, this node loaded {self.info.name} "
                f"{self.info.version} with hash {self.info.model_hash[:12]}: regenerate the model repository "
                "(python -m inference.triton_repository) from these weights"
            )
        logger.info("Triton at %s serves %s and %s (%s)", self.url, self.encoder_name, self.sequence_name, self.served[self.encoder_name].platform)

    def _check_interface(self, name: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> None:
        spec = self.served[name]
        found = (tuple(t.name for t in spec.inputs), tuple(sorted(t.name for t in spec.outputs)))
        if found != (inputs, tuple(sorted(outputs))):
            raise BackendUnavailableError(
                f"Triton model {name!r} has inputs {found[0]} and outputs {found[1]}, expected {inputs} and {tuple(sorted(outputs))}"
            )

    def _infer(self, model: str, input_name: str, data: np.ndarray, outputs: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        data = np.ascontiguousarray(data, dtype=np.float32)
        request = self._http.InferInput(input_name, list(data.shape), "FP32")
        request.set_data_from_numpy(data, binary_data=True)
        wanted = [self._http.InferRequestedOutput(name, binary_data=True) for name in outputs]
        result = self._client().infer(model, inputs=[request], outputs=wanted)
        arrays = []
        for name in outputs:
            array = result.as_numpy(name)
            if array is None:
                raise EngineError(f"Triton model {model!r} returned no output {name!r}")
            arrays.append(array.astype(np.float32, copy=False))
        return tuple(arrays)

    def _encode(self, slices: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        features, saliency = self._infer(self.encoder_name, INPUT_NAME, slices.numpy(), ENCODER_OUTPUTS)
        return features, saliency

    def _sequence(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slice_probs, study_probs = self._infer(self.sequence_name, FEATURES_NAME, features, SEQUENCE_OUTPUTS)
        return slice_probs, study_probs
