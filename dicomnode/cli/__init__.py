"""The ``dicomnode`` command line (click). Each subcommand lives in its own module of this package.

Subcommands are imported only when invoked, so that ``dicomnode audit`` does not pay for importing torch.
To add one, add its name and ``module:attribute`` to ``COMMANDS``.
"""

from __future__ import annotations

import importlib

import click

from dicomnode import __version__

COMMANDS = {
    "serve": "dicomnode.cli.serve:serve",
    "worker": "dicomnode.cli.worker:worker",
    "jobs": "dicomnode.cli.jobs:jobs",
    "outbox": "dicomnode.cli.outbox:outbox",
    "audit": "dicomnode.cli.audit:audit",
    "db": "dicomnode.cli.db_cmd:db",
    "config": "dicomnode.cli.config_cmd:config",
    "conformance": "dicomnode.cli.conformance:conformance",
    "phantom": "dicomnode.cli.phantom:phantom",
    "model": "dicomnode.cli.model:model",
    "train": "dicomnode.cli.train:train",
    "cmb": "dicomnode.cli.cmb:cmb",
    "ich": "dicomnode.cli.ich:ich",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dicomnode")
def main() -> None:
    """dicomnode: receives head CT and MR SWI over DICOM, reads them for bleeding, reports back to the PACS.

    Each analysis has its tools in one group: ``dicomnode ich ...`` (hemorrhage on CT; also ``dicomnode
    model ...``) and ``dicomnode cmb ...`` (microbleeds on SWI).
    """
