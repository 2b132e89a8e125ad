"""``dicomnode config show``: the effective configuration, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dicomnode.cli.options import config_option, load_or_exit


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@config_option
def show(config_path: Path | None) -> None:
    """Print the effective configuration (file + environment + defaults) as JSON, secrets masked."""
    cfg = load_or_exit(config_path)
    click.echo(json.dumps(cfg.masked(), indent=2))
