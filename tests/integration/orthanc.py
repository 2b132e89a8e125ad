"""Orthanc, the demo PACS of the integration tests: a real process on free ports, read through its REST API."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.node_process import free_port
from tests.polling import wait_for


DICOMWEB_PLUGIN_GLOBS = ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so*", "/usr/lib/orthanc/libOrthancDicomWeb.so*")


def dicomweb_plugin() -> str:
    """Path of Orthanc's DICOMweb plugin (Debian package orthanc-dicomweb); fails naming the package."""
    for pattern in DICOMWEB_PLUGIN_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise AssertionError("Orthanc's DICOMweb plugin is not installed (Debian package orthanc-dicomweb; "
                         ".ci/run installs it)")


class Orthanc:
    """An Orthanc process on free ports with its own storage folder.

    With ``dicomweb=True`` the DICOMweb plugin serves QIDO-RS/WADO-RS/STOW-RS under ``/dicom-web/``.
    """

    def __init__(self, root: Path, dicomweb: bool = False) -> None:
        self.dicom_port, self.http_port = free_port(), free_port()
        self.config = root / "orthanc.json"
        plugins = [dicomweb_plugin()] if dicomweb else []
        self.config.write_text(json.dumps({
            "Name": "dicomnode-test", "StorageDirectory": str(root / "storage"), "IndexDirectory": str(root / "index"),
            "DicomAet": "ORTHANC", "DicomPort": self.dicom_port, "HttpPort": self.http_port,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "DicomCheckCalledAet": True,
            "Plugins": plugins, "HttpsVerifyPeers": False, "ConcurrentJobs": 1, "StableAge": 1,
            "DicomWeb": {"Enable": dicomweb, "Root": "/dicom-web/", "EnableWado": dicomweb, "WadoRoot": "/wado",
                         "Ssl": False, "StudiesMetadata": "Full", "SeriesMetadata": "Full"},
        }), encoding="utf-8")
        self.log = root / "orthanc.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        tool = shutil.which("Orthanc")
        assert tool, "Orthanc is not installed (Debian package orthanc; .ci/run installs it)"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([tool, str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.get("/system") is not None, what="Orthanc to answer")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def get(self, path: str) -> object | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def instances(self) -> list[dict[str, object]]:
        """Every stored instance with its main tags (``/instances?expand``)."""
        found = self.get("/instances?expand")
        return found if isinstance(found, list) else []
