"""Rows as text: aligned tables for people (CLI), CSV for spreadsheets (CLI and HTTP API)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any


def render_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """``columns`` of ``rows`` as left-aligned text columns under a header line."""
    cells = [[("" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells]
    return "\n".join(lines)


def render_csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """Every field of ``rows`` (``columns`` when there are none) as CSV; nested values as JSON."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})
    return out.getvalue().rstrip("\n")
