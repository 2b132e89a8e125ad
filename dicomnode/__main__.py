"""``python -m dicomnode`` runs the CLI."""

from dicomnode.cli import main

main()
