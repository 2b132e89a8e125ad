"""Presentation contexts the SCP accepts (PS3.4 Annex A Verification, Annex B Storage; PS3.5 Section 10).

Every standard storage SOP class that pynetdicom knows, each with every standard transfer syntax;
instances are stored as received (no transcoding on ingest). These lists are the source of the
conformance statement's tables.
"""

from __future__ import annotations

from pydicom.uid import UID
from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]


def storage_sop_classes() -> list[str]:
    return [str(context.abstract_syntax) for context in AllStoragePresentationContexts]


def transfer_syntaxes() -> list[str]:
    return list(ALL_TRANSFER_SYNTAXES)


def verification_sop_class() -> str:
    return str(Verification)


def supported_contexts() -> list[tuple[str, list[str]]]:
    """(abstract syntax, transfer syntaxes) pairs: Verification first, then every storage SOP class."""
    syntaxes = transfer_syntaxes()
    return [(verification_sop_class(), syntaxes)] + [(uid, syntaxes) for uid in storage_sop_classes()]


def as_presentation_contexts() -> list[PresentationContext]:
    contexts = []
    for abstract_syntax, syntaxes in supported_contexts():
        context = PresentationContext()
        context.abstract_syntax = abstract_syntax
        accepted: list[str | bytes | UID] = list(syntaxes)
        context.transfer_syntax = accepted
        contexts.append(context)
    return contexts
