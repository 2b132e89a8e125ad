"""``dicomnode serve``: run the node until SIGTERM/SIGINT."""

from __future__ import annotations

from pathlib import Path

import click

from dicomnode.cli.options import config_option, load_or_exit, setup_logging
from dicomnode.errors import StartupError
from dicomnode.service import Node


@click.command()
@config_option
@click.option("--verbose", "-v", is_flag=True, help="Log at DEBUG level.")
@click.option("--json-logs", is_flag=True, help="Log one JSON object per line.")
def serve(config_path: Path | None, verbose: bool, json_logs: bool) -> None:
    """Run the storage SCP (and the rest of the node) until SIGTERM or Ctrl-C."""
    setup_logging(verbose, json_logs)
    config = load_or_exit(config_path)
    node = Node(config)
    node.stop_on_signals()
    try:
        node.start()
    except StartupError as exc:
        raise click.ClickException(str(exc)) from exc
    node.run_until_stopped()
