"""Generated tables of the DICOM Conformance Statement (PS3.2 Annex A layout), from the code's own lists.

The statement in ``conformance/DICOM_Conformance_Statement.md`` holds each table between
``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``; :func:`render_statement`
rewrites those blocks so that the tables cannot drift from the presentation contexts the node uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from pydicom.uid import UID

from dicomnode.delivery.scu import TRANSFER_SYNTAXES as SCU_TRANSFER_SYNTAXES
from dicomnode.pipelines import produced_sop_classes
from dicomnode.scp.contexts import storage_sop_classes, transfer_syntaxes, verification_sop_class

STATEMENT = Path(__file__).resolve().parents[1] / "conformance" / "DICOM_Conformance_Statement.md"
_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S)


def _name(uid: str) -> str:
    name = UID(uid).name
    return "" if name == uid else name


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def scp_sop_classes_table() -> str:
    """PS3.2 A.4.1.2.1.1: SOP classes of the Storage SCP AE (Verification and Storage, both as SCP)."""
    rows = [(_name(verification_sop_class()), f"`{verification_sop_class()}`", "SCP")]
    rows += [(_name(uid), f"`{uid}`", "SCP") for uid in storage_sop_classes()]
    return _table(("SOP Class", "SOP Class UID", "Role"), rows)


def scp_transfer_syntaxes_table() -> str:
    """PS3.2 A.4.2.1.3: transfer syntaxes accepted for every SOP class above (stored as received)."""
    rows = [(_name(uid), f"`{uid}`") for uid in transfer_syntaxes()]
    return _table(("Transfer Syntax", "UID"), rows)


def scu_sop_classes_table() -> str:
    """PS3.2 A.4.1.2.2: SOP classes the node sends as Storage SCU (what its pipelines produce), each proposed
    with these transfer syntaxes."""
    syntaxes = ", ".join(f"{_name(str(uid))} `{uid}`" for uid in SCU_TRANSFER_SYNTAXES)
    rows = [(_name(uid), f"`{uid}`", "SCU", syntaxes) for uid in produced_sop_classes()]
    return _table(("SOP Class", "SOP Class UID", "Role", "Transfer Syntaxes proposed"), rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "scp-sop-classes": scp_sop_classes_table,
    "scp-transfer-syntaxes": scp_transfer_syntaxes_table,
    "scu-sop-classes": scu_sop_classes_table,
}


def render_statement(text: str) -> str:
    """``text`` with every generated block replaced by the table the code produces now."""

    def replace(match: re.Match[str]) -> str:
        generator = GENERATORS.get(match["name"])
        if generator is None:
            raise KeyError(f"unknown generated block {match['name']!r} in the conformance statement")
        return match.group(1) + generator() + match.group(4)

    return _BLOCK.sub(replace, text)


def listed_uids(text: str, block: str) -> list[str]:
    """The UIDs a generated block of the statement lists (what the statement promises)."""
    for match in _BLOCK.finditer(text):
        if match["name"] == block:
            return re.findall(r"`([0-9.]+)`", match["body"])
    raise KeyError(f"the conformance statement has no generated block {block!r}")
