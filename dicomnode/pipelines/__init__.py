"""The analyses this node hosts, by name; each is a package with a :class:`~dicomnode.pipelines.base.Pipeline`.

Pipelines are imported only when used (as the CLI's command table), so that the assembler and the
conformance tables do not pay for a model they do not run. To add one, add its package and a line to
``PIPELINES``. ``[pipelines.<name>] enabled = false`` in the configuration turns one off; every listed
pipeline is enabled by default.
"""

from __future__ import annotations

import importlib

from dicomnode.config import Config
from dicomnode.errors import ConfigError
from dicomnode.pipelines.base import Pipeline

PIPELINES = {
    "ich_ct": "dicomnode.pipelines.ich_ct:PIPELINE",
    "cmb_swi": "dicomnode.pipelines.cmb_swi:PIPELINE",
}


def load_pipeline(name: str) -> Pipeline:
    """The pipeline registered as ``name``.

    Raises
    ------
    KeyError
        No pipeline of that name is registered.
    """
    module, _, attribute = PIPELINES[name].partition(":")
    pipeline: Pipeline = getattr(importlib.import_module(module), attribute)
    return pipeline


def enabled_pipelines(config: Config) -> list[Pipeline]:
    """The pipelines ``config`` enables, in registry order.

    Raises
    ------
    ConfigError
        A ``[pipelines.<name>]`` section names no registered pipeline, or an enabled pipeline's settings
        are invalid (the message names the key).
    """
    unknown = sorted(set(config.pipelines) - set(PIPELINES))
    if unknown:
        raise ConfigError(f"pipelines.{unknown[0]}: no such pipeline (known: {', '.join(sorted(PIPELINES))})")
    enabled = [load_pipeline(name) for name in PIPELINES if config.pipeline(name).enabled]
    for pipeline in enabled:
        pipeline.settings(config)
    return enabled


def produced_sop_classes(config: Config | None = None) -> tuple[str, ...]:
    """The SOP classes the pipelines ``config`` enables produce, each once, in registry order.

    Without ``config``: those of every registered pipeline (all are enabled by default), what the
    conformance statement lists.
    """
    pipelines = enabled_pipelines(config) if config is not None else [load_pipeline(name) for name in PIPELINES]
    return tuple(dict.fromkeys(uid for pipeline in pipelines for uid in pipeline.produces))
