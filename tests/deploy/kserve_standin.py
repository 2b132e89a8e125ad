"""A stand-in for Triton's HTTP endpoint: the KServe v2 inference protocol subset ``tritonclient`` uses.

Not Triton: a small threaded HTTP server that serves a model repository written by
:mod:`inference.ich.triton_repository` by running each ``<name>/1/model.onnx`` with ONNX Runtime, and answers

- ``GET /v2/health/ready``, ``GET /v2/health/live``
- ``GET /v2/models/<name>/ready``, ``GET /v2/models/<name>`` (metadata), ``GET /v2/models/<name>/config``
  (the ``config.pbtxt`` read with Triton's own ``ModelConfig`` proto, rendered as JSON)
- ``POST /v2/models/<name>/infer`` with JSON or binary tensors (``Inference-Header-Content-Length``,
  ``binary_data_size``, ``binary_data``/``binary_data_output``), checking datatype and shape against the
  configuration as Triton does (``-1`` matches any size).

It lets the tests check the Triton engine's request/response mapping for real over HTTP; what it cannot
show is Triton's own behaviour (scheduling, backends, TensorRT plans).
"""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnxruntime as ort


def model_config_proto() -> ModuleType:
    """Triton's ``model_config_pb2`` as shipped inside tritonclient, loaded without grpcio."""
    import tritonclient

    path = Path(tritonclient.__file__).parent / "grpc" / "model_config_pb2.py"
    spec = importlib.util.spec_from_file_location("triton_model_config_pb2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_config(path: Path) -> dict[str, Any]:
    """A ``config.pbtxt`` parsed by protobuf's text format into ``ModelConfig``, as JSON data."""
    from google.protobuf import json_format, text_format

    message = text_format.Parse(path.read_text(encoding="utf-8"), model_config_proto().ModelConfig())
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class _Model:
    def __init__(self, folder: Path) -> None:
        self.config = read_config(folder / "config.pbtxt")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / "1" / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.inputs = {t["name"]: [int(d) for d in t.get("dims", [])] for t in self.config.get("input", [])}


class KServeStandIn:
    """Serve every model folder of ``repository`` on 127.0.0.1 (a free port); use as a context manager."""

    def __init__(self, repository: Path, config_override: dict[str, dict[str, Any]] | None = None) -> None:
        self.models = {folder.name: _Model(folder) for folder in sorted(repository.iterdir()) if (folder / "config.pbtxt").is_file()}
        for name, config in (config_override or {}).items():
            self.models[name].config = config
        self.requests: list[tuple[str, dict[str, list[int]]]] = []
        self.fail_next = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "KServeStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not headers else "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: Any) -> None:
                self._send(status, json.dumps(data).encode())

            def _model(self, name: str) -> _Model | None:
                model = stand_in.models.get(name)
                if model is None:
                    self._json(400, {"error": f"Request for unknown model: '{name}' is not found"})
                return model

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:2] == ["v2", "health"]:
                    self._send(200, b"")
                elif len(parts) >= 3 and parts[:2] == ["v2", "models"]:
                    model = self._model(parts[2])
                    if model is None:
                        return
                    if parts[3:] == ["ready"]:
                        self._send(200, b"")
                    elif parts[3:] == ["config"]:
                        self._json(200, model.config)
                    else:
                        self._json(200, {"name": parts[2], "versions": ["1"], "platform": model.config.get("platform")})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) != 4 or parts[:2] != ["v2", "models"] or parts[3] != "infer":
                    self._json(404, {"error": "not found"})
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                model = self._model(parts[2])
                if model is None:
                    return
                if stand_in.fail_next:
                    stand_in.fail_next = False
                    self._json(500, {"error": "injected failure"})
                    return
                try:
                    self._infer(parts[2], model, body)
                except ValueError as exc:
                    self._json(400, {"error": str(exc)})

            def _infer(self, name: str, model: _Model, body: bytes) -> None:
                header_length = self.headers.get("Inference-Header-Content-Length")
                split = int(header_length) if header_length is not None else len(body)
                request = json.loads(body[:split])
                binary, offset, feeds = body[split:], 0, {}
                for tensor in request["inputs"]:
                    if tensor["datatype"] != "FP32":
                        raise ValueError(f"input {tensor['name']}: datatype {tensor['datatype']}, expected FP32")
                    shape = [int(d) for d in tensor["shape"]]
                    dims = model.inputs.get(tensor["name"])
                    if dims is None or len(dims) != len(shape) or any(d not in (-1, s) for d, s in zip(dims, shape)):
                        raise ValueError(f"unexpected shape for input '{tensor['name']}': {shape}, model expects {dims}")
                    size = (tensor.get("parameters") or {}).get("binary_data_size")
                    if size is not None:
                        array = np.frombuffer(binary[offset : offset + size], dtype=np.float32).reshape(shape)
                        offset += size
                    else:
                        array = np.asarray(tensor["data"], dtype=np.float32).reshape(shape)
                    feeds[tensor["name"]] = array
                stand_in.requests.append((name, {k: list(v.shape) for k, v in feeds.items()}))
                all_binary = bool((request.get("parameters") or {}).get("binary_data_output"))
                wanted = request.get("outputs") or [{"name": o.name} for o in model.session.get_outputs()]
                results = model.session.run([o["name"] for o in wanted], feeds)
                outputs, blobs = [], []
                for spec, array in zip(wanted, results):
                    entry: dict[str, Any] = {"name": spec["name"], "datatype": "FP32", "shape": list(array.shape)}
                    if all_binary or (spec.get("parameters") or {}).get("binary_data"):
                        blob = np.ascontiguousarray(array, dtype=np.float32).tobytes()
                        entry["parameters"] = {"binary_data_size": len(blob)}
                        blobs.append(blob)
                    else:
                        entry["data"] = array.astype(np.float32).ravel().tolist()
                    outputs.append(entry)
                head = json.dumps({"model_name": name, "model_version": "1", "outputs": outputs}).encode()
                if blobs:
                    self._send(200, head + b"".join(blobs), {"Inference-Header-Content-Length": str(len(head))})
                else:
                    self._json(200, json.loads(head))

        return Handler
