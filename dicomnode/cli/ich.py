"""``dicomnode ich ...``: the hemorrhage model's tools in one group, as ``dicomnode cmb ...`` for microbleeds.

The same commands as ``dicomnode model ...`` (predict, info, export, benchmark, evaluate, operating-point)
plus ``train``; ``dicomnode model ...`` and ``dicomnode train`` keep working unchanged.
"""

from __future__ import annotations

import click

from dicomnode.cli.model import model
from dicomnode.cli.train import train


@click.group()
def ich() -> None:
    """Intracranial hemorrhage on head CT: prediction, export, evaluation, training (the CNN-BiLSTM)."""


for _name, _command in model.commands.items():
    ich.add_command(_command, _name)
ich.add_command(train, "train")
