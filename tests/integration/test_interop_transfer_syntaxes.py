"""Interoperability: dcmtk ``storescu`` sends each transfer syntax dcmtk can produce; the node stores it as received.

Files are converted with dcmtk (``dcmconv``, ``dcmcjpeg``, ``dcmcjpls``, ``dcmcrle``); dcmtk has no JPEG 2000
encoder, so the JPEG 2000 file is made by pydicom with the openjpeg plugin and still sent by ``storescu``.
Each is proposed with exactly its transfer syntax (an association configuration file), so the node must
accept that syntax and store the bytes it received; lossless syntaxes must decode to the original pixels.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Instance
from tests.factories import ct_series, write_series
from tests.integration.dcmtk import dcmtk
from tests.node_process import NodeProcess

pytestmark = pytest.mark.integration

CONVERSIONS = {  # transfer syntax UID -> (dcmtk tool and options, lossless, needs unsigned pixels)
    "1.2.840.10008.1.2": (["dcmconv", "+ti"], True, False),
    "1.2.840.10008.1.2.1": (["dcmconv", "+te"], True, False),
    "1.2.840.10008.1.2.2": (["dcmconv", "+tb"], True, False),
    "1.2.840.10008.1.2.1.99": (["dcmconv", "+td"], True, False),
    "1.2.840.10008.1.2.4.70": (["dcmcjpeg", "+e1"], True, False),
    "1.2.840.10008.1.2.4.57": (["dcmcjpeg", "+el"], True, False),
    "1.2.840.10008.1.2.4.80": (["dcmcjpls"], True, False),
    "1.2.840.10008.1.2.4.81": (["dcmcjpls", "+en"], False, True),
    "1.2.840.10008.1.2.5": (["dcmcrle"], True, False),
    str(JPEG2000Lossless): ([], True, False),
}


def convert(source: Path, target: Path, syntax: str) -> None:
    command, _, _ = CONVERSIONS[syntax]
    if command:
        subprocess.run([dcmtk(command[0]), *command[1:], str(source), str(target)], check=True, capture_output=True)
    else:
        dataset = pydicom.dcmread(source)
        dataset.compress(JPEG2000Lossless)
        dataset.save_as(target)


def push_with_syntax(port: int, files: list[Path], syntax: str, folder: Path) -> subprocess.CompletedProcess[str]:
    config = folder / "propose.cfg"
    config.write_text(
        "[[TransferSyntaxes]]\n[Only]\nTransferSyntax1 = " + syntax + "\n"
        "[[PresentationContexts]]\n[Contexts]\nPresentationContext1 = 1.2.840.10008.5.1.4.1.1.2\\Only\n"
        "[[Profiles]]\n[Only]\nPresentationContexts = Contexts\n"
    )
    return subprocess.run(
        [dcmtk("storescu"), "-aec", "DICOMNODE", "--config-file", str(config), "Only", "127.0.0.1", str(port),
         *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("syntax", list(CONVERSIONS))
def test_storescu_transfer_syntax_is_stored_as_received(node: NodeProcess, tmp_path: Path, syntax: str) -> None:
    _, lossless, unsigned = CONVERSIONS[syntax]
    originals = write_series(ct_series(3, 64, signed=not unsigned), tmp_path / "original")
    sent = []
    for path in originals:
        target = tmp_path / "sent" / path.name
        target.parent.mkdir(exist_ok=True)
        convert(path, target, syntax)
        assert str(pydicom.dcmread(target, stop_before_pixels=True).file_meta.TransferSyntaxUID) == syntax
        sent.append(target)

    result = push_with_syntax(node.port, sent, syntax, tmp_path)
    assert result.returncode == 0, result.stderr

    with Session(node.engine) as session:
        rows = {row.sop_instance_uid: row for row in session.scalars(select(Instance))}
    assert len(rows) == len(sent)
    for original, sent_file in zip(originals, sent):
        sent_ds = pydicom.dcmread(sent_file)
        row = rows[sent_ds.SOPInstanceUID]
        assert row.transfer_syntax == syntax
        stored = pydicom.dcmread(row.path)
        assert str(stored.file_meta.TransferSyntaxUID) == syntax
        assert stored.PixelData == sent_ds.PixelData  # the bytes as received, no transcoding
        if lossless:
            assert np.array_equal(stored.pixel_array, pydicom.dcmread(original).pixel_array)
