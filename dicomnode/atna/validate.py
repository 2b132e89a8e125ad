"""Validate audit messages against the DICOM audit message schema (PS3.15 A.5.1, RELAX NG) with lxml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).parent / "schema" / "audit-message.rng"


@lru_cache(maxsize=1)
def schema() -> etree.RelaxNG:
    """The compiled schema (loaded once, on first use)."""
    return etree.RelaxNG(etree.parse(str(SCHEMA_PATH)))


def errors(message: etree._Element | bytes | str) -> list[str]:
    """The schema violations of one message; empty when it is valid."""
    if isinstance(message, (bytes, str)):
        message = etree.fromstring(message.encode() if isinstance(message, str) else message)
    validator = schema()
    if validator.validate(message):
        return []
    return [f"line {e.line}: {e.message}" for e in validator.error_log]
