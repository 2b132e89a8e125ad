"""The ``dicomnode`` command line (click). Each subcommand lives in its own module of this package."""

from __future__ import annotations

import click

from dicomnode import __version__
from dicomnode.cli import audit, config_cmd, db_cmd, jobs, model, phantom, serve, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dicomnode")
def main() -> None:
    """dicomnode: receives head CT over DICOM, reads it for hemorrhage, reports back to the PACS."""


main.add_command(serve.serve)
main.add_command(worker.worker)
main.add_command(jobs.jobs)
main.add_command(audit.audit)
main.add_command(db_cmd.db)
main.add_command(config_cmd.config)
main.add_command(phantom.phantom)
main.add_command(model.model)
