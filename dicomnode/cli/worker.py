"""``dicomnode worker``: one stand-alone worker (scale-out on another machine sharing PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import click

from dicomnode.cli.options import config_option, load_or_exit, setup_logging
from dicomnode.errors import ConfigError, StartupError
from dicomnode.service import check_schema
from dicomnode.workers.worker import Worker


@click.command()
@config_option
@click.option("--worker-id", default=None, help="Name recorded on the jobs it runs (default HOST:PID).")
@click.option("--pipeline", "pipelines", multiple=True, metavar="NAME",
              help="Run only jobs of this pipeline (repeatable; e.g. a GPU worker for ich_ct). Default: "
                   "inference.worker_pipelines, else every enabled pipeline.")
@click.option("--verbose", "-v", is_flag=True, help="Log at DEBUG level.")
@click.option("--json-logs", is_flag=True, help="Log one JSON object per line.")
def worker(config_path: Path | None, worker_id: str | None, pipelines: tuple[str, ...], verbose: bool,
           json_logs: bool) -> None:
    """Claim and run analysis jobs from the node's database until SIGTERM or Ctrl-C."""
    setup_logging(verbose, json_logs)
    config = load_or_exit(config_path)
    if pipelines:
        config = config.model_copy(
            update={"inference": config.inference.model_copy(update={"worker_pipelines": list(pipelines)})})
    try:
        runner = Worker(config, worker_id=worker_id)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        check_schema(runner.engine)
    except StartupError as exc:
        runner.engine.dispose()
        raise click.ClickException(str(exc)) from exc
    runner.install_signal_handlers()
    runner.run()
