"""Configuration: one TOML file, ``DICOMNODE_<SECTION>__<KEY>`` environment overrides, embedded defaults.

Precedence (highest first): environment variables, the TOML file, the defaults below. The result is
validated once at the entry point (pydantic-settings) and passed down as small typed objects; a bad value
raises :class:`dicomnode.errors.ConfigError` naming the key, e.g. ``node.port``.

The file is chosen by ``--config FILE``, else ``$DICOMNODE_CONFIG``, else ``./dicomnode.toml`` if present,
else the embedded defaults alone serve.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dicomnode.errors import ConfigError
from dicomnode.uid_policy import UidPolicy

DEFAULT_CONFIG_FILE = Path("dicomnode.toml")
CONFIG_ENV_VAR = "DICOMNODE_CONFIG"
SECRET_KEYS = frozenset({"token", "tls_key", "password"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ae_title(value: str) -> str:
    """AE title rule of PS3.5 Table 6.2-1 (AE VR): 1-16 characters, no backslash or control characters."""
    if not 1 <= len(value.strip()) <= 16 or "\\" in value or any(ord(c) < 32 for c in value):
        raise ValueError("must be 1-16 printable characters without backslash (PS3.5 AE)")
    return value.strip()


class NodeSection(_Section):
    ae_title: str = "DICOMNODE"
    host: str = "0.0.0.0"
    port: int = Field(11112, ge=1, le=65535)
    storage_dir: Path = Path("var/storage")
    uid_policy: UidPolicy = Field(
        "strict", description="non-conformant Study/Series/SOP Instance UIDs: strict = 0xC210, accept-safe = "
        "store file-name-safe values with an audit warning (dicomnode.uid_policy)",
    )
    max_associations: int = Field(16, ge=1, le=1024)
    max_associations_per_host: int = Field(8, ge=1, le=1024, description="associations one source host may hold")
    max_pending: int = Field(32, ge=1, le=4096, description="connections waiting to present an A-ASSOCIATE-RQ")
    max_pending_per_host: int = Field(4, ge=1, le=1024, description="the same, per source host")
    max_pdu_size: int = Field(0, ge=0, description="0 = unlimited (largest PDU the peer accepts)")
    acse_timeout: float = Field(30.0, gt=0)
    dimse_timeout: float = Field(60.0, gt=0)
    network_timeout: float = Field(60.0, gt=0)
    shutdown_timeout: float = Field(30.0, ge=0, description="seconds open associations get to finish on SIGTERM")
    max_inflated_bytes: int = Field(
        128 * 1024 * 1024, ge=1024, description="largest data set a Deflated Explicit VR Little Endian C-STORE may inflate to"
    )
    max_inflate_ratio: float = Field(100.0, ge=1.0, description="largest inflated / received size of a deflated data set")

    _check_ae = field_validator("ae_title")(classmethod(lambda cls, v: _ae_title(v)))


class AllowedPeer(_Section):
    """One (calling AE title, source host) pair; ``*`` matches any AE title; host may be an address or CIDR."""

    ae_title: str = "*"
    host: str = "127.0.0.1"

    @field_validator("host")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ValueError(f"not an IP address or CIDR network: {value!r}") from exc
        return value


class SecuritySection(_Section):
    allowed: list[AllowedPeer] = Field(
        default_factory=lambda: [AllowedPeer(ae_title="*", host="127.0.0.1"), AllowedPeer(ae_title="*", host="::1")]
    )
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    require_client_cert: bool = False

    @field_validator("tls_cert", "tls_key", "tls_ca", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _tls_pairs(self) -> "SecuritySection":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        if self.require_client_cert and self.tls_ca is None:
            raise ValueError("require_client_cert needs tls_ca (the CA that signs client certificates)")
        return self

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None


class DatabaseSection(_Section):
    url: str = "sqlite:///var/dicomnode.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value


class AssemblySection(_Section):
    quiet_seconds: float = Field(5.0, gt=0)
    release_grace_seconds: float = Field(1.0, ge=0)
    tick_seconds: float = Field(0.5, gt=0)
    full_scan_seconds: float = Field(300.0, gt=0, description="period of the scan of every series")


class SelectionSection(_Section):
    modalities: list[str] = Field(default_factory=lambda: ["CT"])
    min_slices: int = Field(10, ge=1)
    max_gap_factor: float = Field(1.5, gt=1.0)
    gap_tolerance_mm: float = Field(2.0, ge=0, description="gaps up to this many mm pass (reported, not refused)")
    max_tilt_degrees: float = Field(30.0, ge=0, le=89)


class InferenceSection(_Section):
    backend: Literal["auto", "torch", "onnxruntime", "tensorrt", "triton"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    weights: Path | None = None
    workers: int = Field(1, ge=0, le=64)
    worker_pipelines: list[str] = Field(
        default_factory=list, description="pipelines this process's workers run; empty: every enabled one")
    max_attempts: int = Field(3, ge=1, le=100)
    heartbeat_seconds: float = Field(2.0, gt=0, description="how often a worker proves it still runs its job")
    stale_seconds: float = Field(30.0, gt=0, description="a running job without a heartbeat this long is re-queued")
    poll_seconds: float = Field(0.5, gt=0, description="how often an idle worker looks for queued jobs")
    analysis_step: str = Field("", description="module:function of the analysis step; empty = the built-in one")
    threshold: float | None = Field(None, gt=0, lt=1)
    triton_url: str = Field("", description="backend triton: the server's HTTP endpoint, e.g. http://triton:8000")
    triton_model: str = Field("ich", description="backend triton: models <triton_model>_encoder and _sequence")

    @field_validator("weights", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class Destination(_Section):
    name: str
    ae_title: str
    host: str
    port: int = Field(ge=1, le=65535)
    tls: bool = False

    _check_ae = field_validator("ae_title")(classmethod(lambda cls, v: _ae_title(v)))


class AdminSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    token: str = ""
    disk_min_free_mb: int = Field(1024, ge=0, description="GET /health fails below this much free disk")


class AuditExportSection(_Section):
    """IHE ATNA export (PS3.15 A.5 messages as RFC 5424 syslog); off while ``syslog_host`` is empty."""

    syslog_host: str = ""
    syslog_port: int = Field(6514, ge=1, le=65535)
    tls: bool = True
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    spool_dir: Path = Path("var/atna-spool")
    poll_seconds: float = Field(5.0, gt=0)
    site_id: str = ""

    @field_validator("tls_ca", "tls_cert", "tls_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class ResultsSection(_Section):
    dir: Path = Path("var/results")


class ReportsSection(_Section):
    max_key_slices: int = Field(3, ge=0, le=50, description="key-slice SC images per positive study")
    segmentation: bool = Field(True, description="write a DICOM SEG of the findings' regions with the SR")


class DeliverySection(_Section):
    """Outbox retries: exponential backoff with jitter, then ``dead`` (see dicomnode.delivery.backoff)."""

    backoff_initial_seconds: float = Field(10.0, gt=0)
    backoff_factor: float = Field(2.0, ge=1.0)
    backoff_max_seconds: float = Field(1800.0, gt=0)
    backoff_jitter: float = Field(0.2, ge=0, lt=1, description="+/- fraction of each delay drawn at random")
    give_up_after_seconds: float = Field(86400.0, gt=0, description="time since queued after which an entry is dead")
    batch_size: int = Field(100, ge=1, le=10000, description="instances per association")
    tick_seconds: float = Field(1.0, gt=0, description="how often serve sends due entries (a cheap query)")
    calling_ae_title: str = ""  # empty: node.ae_title
    acse_timeout: float = Field(30.0, gt=0)
    dimse_timeout: float = Field(60.0, gt=0)
    network_timeout: float = Field(60.0, gt=0)


class PipelineSection(_Section):
    """``[pipelines.<name>]``: whether the assembler offers ready series to that pipeline, and its settings.

    Keys other than ``enabled`` belong to the pipeline, which validates them with its own settings model
    (:func:`dicomnode.pipelines.base.pipeline_settings`) when the node starts.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    enabled: bool = True


class Config(BaseSettings):
    """The effective configuration of one node process."""

    model_config = SettingsConfigDict(
        env_prefix="DICOMNODE_", env_nested_delimiter="__", extra="forbid", frozen=True, case_sensitive=False
    )

    node: NodeSection = NodeSection()
    security: SecuritySection = SecuritySection()
    database: DatabaseSection = DatabaseSection()
    assembly: AssemblySection = AssemblySection()
    selection: SelectionSection = SelectionSection()
    inference: InferenceSection = InferenceSection()
    destinations: list[Destination] = Field(default_factory=list)
    admin: AdminSection = AdminSection()
    audit_export: AuditExportSection = AuditExportSection()
    results: ResultsSection = ResultsSection()
    reports: ReportsSection = ReportsSection()
    delivery: DeliverySection = DeliverySection()
    pipelines: dict[str, PipelineSection] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init arguments; the environment overrides it.
        return env_settings, init_settings

    def pipeline(self, name: str) -> PipelineSection:
        """The ``[pipelines.<name>]`` section; a pipeline without one is enabled."""
        return self.pipelines.get(name, PipelineSection())

    def masked(self) -> dict[str, Any]:
        """The configuration as plain data with secrets replaced by ``***``."""
        masked: dict[str, Any] = _mask(self.model_dump(mode="json"))
        return masked


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if k in SECRET_KEYS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str) and "://" in value and "@" in value:
        return _mask_url_password(value)
    return value


def _mask_url_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    if ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}@{host}"


def resolve_config_path(path: Path | None) -> Path | None:
    """``--config`` wins, then ``$DICOMNODE_CONFIG``, then ``./dicomnode.toml`` if it exists."""
    if path is not None:
        return path
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        return Path(env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_config(path: Path | None = None) -> Config:
    """Read, merge and validate the configuration; raise ConfigError naming the offending key."""
    path = resolve_config_path(path)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
    env_backup = os.environ.pop(CONFIG_ENV_VAR, None)
    try:
        return Config(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc
    finally:
        if env_backup is not None:
            os.environ[CONFIG_ENV_VAR] = env_backup


def _describe(exc: ValidationError, path: Path | None) -> str:
    source = f" (file {path} or DICOMNODE_* environment)" if path else " (DICOMNODE_* environment)"
    lines = [f"invalid configuration{source}:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(root)"
        given = error.get("input")
        shown = "" if isinstance(given, dict) or error["type"] == "extra_forbidden" else f" (got {given!r})"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"  {key}: {message}{shown}")
    return "\n".join(lines)
