"""Orthanc, the demo PACS of the integration tests: a real process on free ports, read through its REST API."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.node_process import free_port
from tests.polling import wait_for


class Orthanc:
    """An Orthanc process on free ports with its own storage folder."""

    def __init__(self, root: Path) -> None:
        self.dicom_port, self.http_port = free_port(), free_port()
        self.config = root / "orthanc.json"
        self.config.write_text(json.dumps({
            "Name": "dicomnode-test", "StorageDirectory": str(root / "storage"), "IndexDirectory": str(root / "index"),
            "DicomAet": "ORTHANC", "DicomPort": self.dicom_port, "HttpPort": self.http_port,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "DicomCheckCalledAet": True,
            "Plugins": [], "HttpsVerifyPeers": False, "ConcurrentJobs": 1, "StableAge": 1,
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
