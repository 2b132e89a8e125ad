"""Triton sessions: one model served by an NVIDIA Triton Inference Server, over its HTTP/REST endpoint
(KServe v2 inference protocol with binary tensors) using ``tritonclient``.

``tritonclient[http]`` is optional (``pip install 'dicomnode[triton]'``) and imported only when a session is
built. At start the session checks that the server and its model are ready and that the model's inputs and
outputs are the expected ones; :attr:`TritonSession.served` is the model's configuration, for callers that
check its parameters (such as the hash of the weights it serves).
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from inference.errors import BackendUnavailableError, EngineError
from inference.runtime.triton_config import ModelSpec, spec_from_json

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0


def import_tritonclient() -> Any:
    """``tritonclient.http``, or :class:`BackendUnavailableError` naming the extra to install."""
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


class TritonSession:
    """Run the model ``name`` on a Triton Inference Server over HTTP.

    Parameters
    ----------
    url
        Triton's HTTP endpoint, ``http://host:8000`` (``https://`` for TLS).
    name
        The model's name on the server.
    input_names, output_names
        The interface the served model must have (FP32 tensors).
    timeout
        Connection and network timeout in seconds.
    """

    def __init__(self, url: str, name: str, input_names: tuple[str, ...], output_names: tuple[str, ...],
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self._http = import_tritonclient()
        self.url, self.name = url, name
        self.address, self._ssl = split_url(url)
        self._timeout = timeout
        self._local = threading.local()  # tritonclient clients are not thread-safe: one per thread
        self.input_names, self.output_names = input_names, output_names
        self.served = self._check_server()

    @property
    def description(self) -> str:
        return f"triton:{self.address}/{self.name}"

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._http.InferenceServerClient(
                self.address, connection_timeout=self._timeout, network_timeout=self._timeout, ssl=self._ssl
            )
            self._local.client = client
        return client

    def _check_server(self) -> ModelSpec:
        client = self._client()
        try:
            if not client.is_server_ready():
                raise BackendUnavailableError(f"Triton at {self.url} is not ready")
            if not client.is_model_ready(self.name):
                raise BackendUnavailableError(f"Triton at {self.url} has no ready model {self.name!r}")
            spec = spec_from_json(client.get_model_config(self.name))
        except BackendUnavailableError:
            raise
        except Exception as exc:  # connection refused, timeouts, InferenceServerException
            raise BackendUnavailableError(f"Triton at {self.url} cannot be reached: {exc}") from exc
        found = (tuple(t.name for t in spec.inputs), tuple(sorted(t.name for t in spec.outputs)))
        wanted = (self.input_names, tuple(sorted(self.output_names)))
        if found != wanted:
            raise BackendUnavailableError(
                f"Triton model {self.name!r} has inputs {found[0]} and outputs {found[1]}, expected {wanted[0]} and {wanted[1]}"
            )
        return spec

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        requests = []
        for name in self.input_names:
            data = np.ascontiguousarray(feeds[name], dtype=np.float32)
            request = self._http.InferInput(name, list(data.shape), "FP32")
            request.set_data_from_numpy(data, binary_data=True)
            requests.append(request)
        wanted = [self._http.InferRequestedOutput(name, binary_data=True) for name in self.output_names]
        result = self._client().infer(self.name, inputs=requests, outputs=wanted)
        arrays = {}
        for name in self.output_names:
            array = result.as_numpy(name)
            if array is None:
                raise EngineError(f"Triton model {self.name!r} returned no output {name!r}")
            arrays[name] = array.astype(np.float32, copy=False)
        return arrays
