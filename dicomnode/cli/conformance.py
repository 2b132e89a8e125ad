"""``dicomnode conformance``: regenerate (or check) the tables of the DICOM Conformance Statement."""

from __future__ import annotations

from pathlib import Path

import click

from dicomnode.conformance import STATEMENT, render_statement


@click.command()
@click.option("--statement", type=click.Path(path_type=Path, dir_okay=False), default=STATEMENT, show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 if the statement's tables differ from the code; write nothing.")
def conformance(statement: Path, check: bool) -> None:
    """Write the SOP class and transfer syntax tables into the conformance statement from the code's lists."""
    current = statement.read_text(encoding="utf-8")
    rendered = render_statement(current)
    if check:
        if rendered != current:
            raise click.ClickException(f"{statement} is out of date: run `dicomnode conformance`")
        click.echo(f"{statement} matches the code")
        return
    statement.write_text(rendered, encoding="utf-8")
    click.echo(f"wrote the generated tables of {statement}")
