"""The conformance statement is true: its tables match the code, and a running node accepts exactly them.

Every (SOP class, transfer syntax) pair the statement lists is proposed to ``dicomnode serve`` with dcmtk
``storescu`` (an association configuration file, 127 presentation contexts per association) and must be
accepted; SOP classes and transfer syntaxes the statement does not list must be refused.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from dicomnode.conformance import STATEMENT, listed_uids, render_statement
from tests.factories import ct_series, write_series
from tests.integration.dcmtk import dcmtk, echoscu
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
UNLISTED_SOP_CLASSES = ["1.2.840.10008.5.1.4.1.1.5", "1.2.826.0.1.3680043.8.498.999.1"]  # retired NM, private
UNLISTED_TRANSFER_SYNTAXES = ["1.2.840.10008.1.2.4.52", "1.2.840.10008.1.2.4.53"]  # retired JPEG Extended
CONTEXTS_PER_ASSOCIATION = 127  # presentation context IDs are odd numbers 1..255 (PS3.8 9.3.2.2)
_RESULT = re.compile(r"Context ID:\s+(\d+) \((?!Proposed)([^)]+)\)")


def statement_text() -> str:
    return STATEMENT.read_text(encoding="utf-8")


def test_statement_tables_match_the_code() -> None:
    text = statement_text()
    assert render_statement(text) == text, "run `dicomnode conformance` to regenerate the statement's tables"


def negotiate(node: NodeProcess, pairs: list[tuple[str, str]], probe: Path, folder: Path) -> dict[tuple[str, str], str]:
    """Propose ``pairs`` (after a CT/Explicit VR LE context used to send ``probe``); return each result."""
    syntaxes = sorted({ts for _, ts in pairs} | {EXPLICIT_VR_LITTLE_ENDIAN})
    section = {ts: f"TS{i}" for i, ts in enumerate(syntaxes)}
    lines = ["[[TransferSyntaxes]]"]
    for ts, name in section.items():
        lines += [f"[{name}]", f"TransferSyntax1 = {ts}"]
    proposed = [(CT_IMAGE_STORAGE, EXPLICIT_VR_LITTLE_ENDIAN), *pairs]
    lines += ["[[PresentationContexts]]", "[Contexts]"]
    lines += [f"PresentationContext{i} = {sop}\\{section[ts]}" for i, (sop, ts) in enumerate(proposed, 1)]
    lines += ["[[Profiles]]", "[Probe]", "PresentationContexts = Contexts"]
    config = folder / "contexts.cfg"
    config.write_text("\n".join(lines) + "\n")
    run = subprocess.run(
        [dcmtk("storescu"), "-d", "-aec", "DICOMNODE", "--config-file", str(config), "Probe",
         "127.0.0.1", str(node.port), str(probe)],
        capture_output=True, text=True, timeout=120,
    )
    results = {int(cid): status for cid, status in _RESULT.findall(run.stdout + run.stderr)}
    assert len(results) == len(proposed), f"no A-ASSOCIATE-AC parsed:\n{run.stderr[-2000:]}"
    return {pair: results[2 * i + 3] for i, pair in enumerate(pairs)}


@pytest.mark.slow
def test_running_node_accepts_exactly_what_the_statement_lists(node: NodeProcess, tmp_path: Path) -> None:
    text = statement_text()
    sop_classes = listed_uids(text, "scp-sop-classes")
    syntaxes = listed_uids(text, "scp-transfer-syntaxes")
    assert "1.2.840.10008.1.1" in sop_classes and CT_IMAGE_STORAGE in sop_classes
    [probe] = write_series(ct_series(1, 16), tmp_path / "probe")

    listed = [(sop, ts) for sop in sop_classes for ts in syntaxes]
    unlisted = [(sop, EXPLICIT_VR_LITTLE_ENDIAN) for sop in UNLISTED_SOP_CLASSES]
    unlisted += [(CT_IMAGE_STORAGE, ts) for ts in UNLISTED_TRANSFER_SYNTAXES]
    outcome: dict[tuple[str, str], str] = {}
    for start in range(0, len(listed) + len(unlisted), CONTEXTS_PER_ASSOCIATION):
        batch = (listed + unlisted)[start : start + CONTEXTS_PER_ASSOCIATION]
        outcome.update(negotiate(node, batch, probe, tmp_path))

    refused_listed = {pair: status for pair, status in outcome.items() if pair in listed and status != "Accepted"}
    assert not refused_listed, f"listed in the statement but refused: {list(refused_listed.items())[:5]}"
    for sop, ts in unlisted:
        expected = "Abstract Syntax Not Supported" if sop in UNLISTED_SOP_CLASSES else "Transfer Syntax Not Supported"
        assert outcome[(sop, ts)].startswith(expected.split()[0]), (sop, ts, outcome[(sop, ts)])
    assert echoscu(node.port).returncode == 0  # Verification SCP, as the statement says
