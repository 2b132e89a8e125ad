"""Triton model configurations (``config.pbtxt``): build from an ONNX graph, render, parse.

A Triton model repository holds one folder per model with a ``config.pbtxt`` in protobuf text format
(message ``inference.ModelConfig`` of Triton's ``model_config.proto``) and numbered version folders::

    <repository>/ich_encoder/config.pbtxt
    <repository>/ich_encoder/1/model.onnx        (platform onnxruntime_onnx)
    <repository>/ich_encoder/1/model.plan        (platform tensorrt_plan)

Only the subset of ``ModelConfig`` this package writes is modelled: name, platform, ``max_batch_size``
(always 0: the slice axis is an explicit ``-1`` dimension, not Triton's implicit batch), inputs and
outputs (name, data type, dims), an instance group and string parameters (the model's identity).
:func:`parse_pbtxt` is a small reader of the protobuf text format in general (messages, repeated fields,
lists, strings, numbers, enum identifiers, comments), used to check shipped files and by the tests.

See https://github.com/triton-inference-server/server/blob/main/docs/user_guide/model_configuration.md
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import onnx

from inference.errors import ExportError

PLATFORMS = ("onnxruntime_onnx", "tensorrt_plan")
MODEL_FILES = {"onnxruntime_onnx": "model.onnx", "tensorrt_plan": "model.plan"}

#: ONNX TensorProto element type -> Triton ``DataType`` enum name.
ONNX_TO_TRITON: dict[int, str] = {
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.DOUBLE: "TYPE_FP64",
    onnx.TensorProto.INT64: "TYPE_INT64",
    onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.UINT8: "TYPE_UINT8",
    onnx.TensorProto.BOOL: "TYPE_BOOL",
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: name, Triton data type (``TYPE_FP32``) and dims (``-1`` = dynamic)."""

    name: str
    data_type: str
    dims: tuple[int, ...]

    @property
    def datatype(self) -> str:
        """The KServe v2 protocol's name of the data type (``FP32``)."""
        return self.data_type.removeprefix("TYPE_")


@dataclass(frozen=True)
class ModelSpec:
    """The part of a Triton ``ModelConfig`` this package writes and checks."""

    name: str
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int = 0
    instance_kind: str | None = None
    instance_count: int = 1
    parameters: dict[str, str] = field(default_factory=dict)

    def interface(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        """(inputs, outputs): what a client relies on, without identity or placement."""
        return self.inputs, self.outputs


def _tensor(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor_type = value.type.tensor_type
    data_type = ONNX_TO_TRITON.get(tensor_type.elem_type)
    if data_type is None:
        raise ExportError(f"tensor {value.name!r} has ONNX element type {tensor_type.elem_type}, which has no Triton type here")
    dims = tuple(-1 if dim.dim_param or not dim.HasField("dim_value") else int(dim.dim_value) for dim in tensor_type.shape.dim)
    return TensorSpec(value.name, data_type, dims)


def spec_from_onnx(
    model: onnx.ModelProto, name: str, platform: str = "onnxruntime_onnx",
    instance_kind: str | None = None, parameters: dict[str, str] | None = None,
) -> ModelSpec:
    """The Triton configuration of an ONNX graph: its inputs and outputs, symbolic dims as ``-1``.

    Parameters
    ----------
    model
        The graph Triton serves (for ``tensorrt_plan``: the graph the plan is built from).
    name
        Triton model name (the folder name in the repository).
    platform
        ``onnxruntime_onnx`` or ``tensorrt_plan``.
    instance_kind
        ``KIND_GPU``, ``KIND_CPU`` or ``None`` (Triton's default: GPU where there is one).
    parameters
        String parameters written into the configuration (model identity).
    """
    if platform not in PLATFORMS:
        raise ExportError(f"platform must be one of {PLATFORMS}, got {platform!r}")
    initializers = {init.name for init in model.graph.initializer}
    inputs = tuple(_tensor(v) for v in model.graph.input if v.name not in initializers)
    outputs = tuple(_tensor(v) for v in model.graph.output)
    return ModelSpec(name, platform, inputs, outputs, instance_kind=instance_kind, parameters=dict(parameters or {}))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_tensor(field_name: str, tensor: TensorSpec) -> list[str]:
    return [
        f"{field_name} {{",
        f"  name: {_quote(tensor.name)}",
        f"  data_type: {tensor.data_type}",
        f"  dims: [ {', '.join(str(d) for d in tensor.dims)} ]",
        "}",
    ]


def render(spec: ModelSpec, comment: str = "") -> str:
    """``spec`` as the text of a ``config.pbtxt``; ``comment`` lines go on top as ``#`` comments."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines += [f"name: {_quote(spec.name)}", f"platform: {_quote(spec.platform)}", f"max_batch_size: {spec.max_batch_size}"]
    for tensor in spec.inputs:
        lines += _render_tensor("input", tensor)
    for tensor in spec.outputs:
        lines += _render_tensor("output", tensor)
    if spec.instance_kind:
        lines += ["instance_group {", f"  kind: {spec.instance_kind}", f"  count: {spec.instance_count}", "}"]
    for key, value in sorted(spec.parameters.items()):
        lines += ["parameters {", f"  key: {_quote(key)}", f"  value {{ string_value: {_quote(value)} }}", "}"]
    return "\n".join(lines) + "\n"


_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<punct>[{}\[\]:,;<>])"""
    r"""|(?P<word>[A-Za-z_][\w.]*|[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)[fF]?)"""
)


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"config.pbtxt: unexpected character {text[position]!r} at offset {position}")
        position = match.end()
        if match.lastgroup:
            found.append((match.lastgroup, match.group(match.lastgroup)))
    return found


def _scalar(kind: str, token: str) -> Any:
    if kind == "string":
        return bytes(token[1:-1], "utf-8").decode("unicode_escape")
    if token in ("true", "True"):
        return True
    if token in ("false", "False"):
        return False
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token.rstrip("fF"))
    except ValueError:
        return token  # an enum value such as TYPE_FP32


def parse_pbtxt(text: str) -> dict[str, list[Any]]:
    """Parse protobuf text format into ``{field: [values...]}`` (every field a list; messages are dicts).

    Raises
    ------
    ValueError
        On a syntax error, naming the token where it happened.
    """
    tokens = _tokens(text)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def next_is(*texts: str) -> bool:
        token = peek()
        return token is not None and token[1] in texts

    def next_kind_is(kind: str) -> bool:
        token = peek()
        return token is not None and token[0] == kind

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal position
        token = peek()
        if token is None or (expected is not None and token[1] != expected):
            raise ValueError(f"config.pbtxt: expected {expected or 'a token'}, got {token[1] if token else 'end of text'!r}")
        position += 1
        return token

    def value() -> Any:
        kind, token = take()
        if token in ("{", "<"):
            return message("}" if token == "{" else ">")
        if kind not in ("string", "word"):
            raise ValueError(f"config.pbtxt: expected a value, got {token!r}")
        while kind == "string" and next_kind_is("string"):  # adjacent strings concatenate
            token = token[:-1] + take()[1][1:]
        return _scalar(kind, token)

    def message(end: str | None) -> dict[str, list[Any]]:
        fields: dict[str, list[Any]] = {}
        while True:
            token = peek()
            if token is None:
                if end is not None:
                    raise ValueError(f"config.pbtxt: missing {end!r} before the end of text")
                return fields
            if token[1] == end:
                take()
                return fields
            kind, name = take()
            if kind != "word":
                raise ValueError(f"config.pbtxt: expected a field name, got {name!r}")
            if next_is(":"):
                take(":")
            values: list[Any]
            if next_is("["):
                take("[")
                values = []
                while peek() is not None and not next_is("]"):
                    values.append(value())
                    if next_is(","):
                        take(",")
                take("]")
            else:
                values = [value()]
            fields.setdefault(name, []).extend(values)
            if next_is(",", ";"):
                take()

    return message(None)


def _one(fields: dict[str, list[Any]], key: str, default: Any = None) -> Any:
    values = fields.get(key)
    if not values:
        if default is None:
            raise ValueError(f"config.pbtxt: field {key!r} is missing")
        return default
    if len(values) > 1:
        raise ValueError(f"config.pbtxt: field {key!r} is given {len(values)} times")
    return values[0]


def _tensor_from_fields(fields: dict[str, list[Any]]) -> TensorSpec:
    return TensorSpec(_one(fields, "name"), _one(fields, "data_type"), tuple(int(d) for d in fields.get("dims", [])))


def parse_config(text: str) -> ModelSpec:
    """A ``config.pbtxt`` as a :class:`ModelSpec` (fields outside the modelled subset are ignored)."""
    fields = parse_pbtxt(text)
    groups = fields.get("instance_group", [])
    parameters = {}
    for entry in fields.get("parameters", []):
        parameters[_one(entry, "key")] = _one(_one(entry, "value"), "string_value", "")
    return ModelSpec(
        name=_one(fields, "name"),
        platform=_one(fields, "platform", ""),
        inputs=tuple(_tensor_from_fields(t) for t in fields.get("input", [])),
        outputs=tuple(_tensor_from_fields(t) for t in fields.get("output", [])),
        max_batch_size=int(_one(fields, "max_batch_size", 0)),
        instance_kind=_one(groups[0], "kind", "") or None if groups else None,
        instance_count=int(_one(groups[0], "count", 1)) if groups else 1,
        parameters=parameters,
    )


def spec_from_json(config: dict[str, Any]) -> ModelSpec:
    """The subset of a model configuration as Triton's ``GET /v2/models/<name>/config`` returns it (JSON)."""

    def tensor(entry: dict[str, Any]) -> TensorSpec:
        return TensorSpec(entry["name"], entry.get("data_type", ""), tuple(int(d) for d in entry.get("dims", [])))

    groups = config.get("instance_group") or [{}]
    return ModelSpec(
        name=config.get("name", ""),
        platform=config.get("platform", "") or config.get("backend", ""),
        inputs=tuple(tensor(t) for t in config.get("input", [])),
        outputs=tuple(tensor(t) for t in config.get("output", [])),
        max_batch_size=int(config.get("max_batch_size", 0)),
        instance_kind=groups[0].get("kind"),
        instance_count=int(groups[0].get("count", 1)),
        parameters={k: str(v.get("string_value", "")) for k, v in (config.get("parameters") or {}).items()},
    )
