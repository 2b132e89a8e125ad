"""Bounded, escaped text for what the node records: audit messages, reasons, errors.

Reasons often quote values a peer sent (an AE title, a UID, a corrupt attribute). Before such text is
stored or logged it goes through :func:`bounded`: control and non-ASCII characters become escapes
(``\\x00``, ``\\n``, ``\\xff``), so no value can forge a line or a field and a reader sees which bytes arrived;
then the text is cut to a fixed number of characters, saying how much was dropped. Escaping is
idempotent (an escaped text has nothing left to escape), so text bounded twice reads the same.
"""

from __future__ import annotations

from typing import Any

MESSAGE_LIMIT = 500  # characters of an audit message, a skip reason or a job error
VALUE_LIMIT = 200  # characters of one value quoted inside a reason or an audit detail


def escaped(text: str) -> str:
    """``text`` with every character outside printable ASCII written as a Python escape (``\\x00``)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if c.isascii() and c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def bounded(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` escaped and cut to at most ``limit`` characters (the cut is marked with the count dropped)."""
    value = escaped(str(text))
    if len(value) <= limit:
        return value
    widest = f"... [{len(value)} more characters]"  # the marker is never longer than this
    if limit <= 2 * len(widest):  # a short field (an AE title, a host) is cut without a marker
        return value[:limit]
    keep = limit - len(widest)
    return value[:keep] + f"... [{len(value) - keep} more characters]"


def quoted(value: object, limit: int = VALUE_LIMIT) -> str:
    """A value a peer sent, for quoting inside a message: escaped, bounded, in single quotes."""
    return f"'{bounded(value, limit)}'"


def bounded_detail(detail: dict[str, Any], limit: int = VALUE_LIMIT) -> dict[str, Any]:
    """A JSON detail whose strings (at any depth) are bounded; numbers, booleans and None pass unchanged."""
    return {str(key)[:64]: _bounded_value(value, limit) for key, value in detail.items()}


def _bounded_value(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return bounded(value, limit)
    if isinstance(value, dict):
        return bounded_detail(value, limit)
    if isinstance(value, (list, tuple)):
        return [_bounded_value(item, limit) for item in value[:100]]
    return value
