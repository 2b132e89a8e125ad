"""The OHIF viewer served on loopback, with Orthanc's DICOMweb behind the same origin.

One small HTTP server does three things, so the browser talks to a single origin (no CORS):

- ``/app-config.js``: the viewer's configuration, written here, whose only data source is the DICOMweb
  endpoint below (OHIF's ``@ohif/extension-default.dataSourcesModule.dicomweb``);
- ``/dicom-web/...``: a reverse proxy to Orthanc's DICOMweb plugin (QIDO-RS, WADO-RS);
- everything else: the static files of ``@ohif/app``'s ``dist/``, with ``index.html`` for the viewer's
  client-side routes (``/viewer?StudyInstanceUIDs=...``).

The app is installed by ``install_ohif.sh`` beside this file into ``.cache/ohif/<version>/dist``.
"""

from __future__ import annotations

import http.client
import json
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[3]
INSTALLER = Path(__file__).resolve().parent / "install_ohif.sh"
OHIF_VERSION = "3.13.2"  # keep in step with DEFAULT_VERSION in install_ohif.sh
DICOMWEB_PREFIX = "/dicom-web/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization",
              "proxy-authenticate", "host", "content-length"}
TYPES = {".js": "application/javascript", ".mjs": "application/javascript", ".wasm": "application/wasm",
         ".css": "text/css", ".json": "application/json", ".html": "text/html; charset=utf-8",
         ".svg": "image/svg+xml", ".woff2": "font/woff2"}


class OhifNotInstalled(RuntimeError):
    """The pinned OHIF app is not in ``.cache/ohif``; the message says how to install it."""


def ohif_dist(version: str = OHIF_VERSION) -> Path:
    """The ``dist/`` folder of the installed ``@ohif/app@version``, or :class:`OhifNotInstalled`."""
    target = ROOT / ".cache" / "ohif" / version
    marker = target / "INSTALLED"
    if not (marker.is_file() and marker.read_text().strip() == f"@ohif/app@{version}"
            and (target / "dist" / "index.html").is_file()):
        raise OhifNotInstalled(
            f"@ohif/app@{version} is not installed in {target}: run {INSTALLER.relative_to(ROOT)} {version} "
            "(npm from the registry; .ci/run does this)")
    return target / "dist"


def app_config(dicomweb_path: str = DICOMWEB_PREFIX.rstrip("/")) -> str:
    """``window.config`` for the viewer: one DICOMweb data source at ``dicomweb_path`` on the same origin.

    The options follow what Orthanc's DICOMweb plugin supports: no ``includefield`` in QIDO, WADO-RS
    rendering, no wildcard or fuzzy matching guarantees; lazy study loading as in OHIF's own Orthanc setup.
    """
    source = {
        "namespace": "@ohif/extension-default.dataSourcesModule.dicomweb",
        "sourceName": "orthanc",
        "configuration": {
            "friendlyName": "Orthanc DICOMweb (test PACS)",
            "name": "orthanc",
            "qidoRoot": "__ORIGIN__" + dicomweb_path,
            "wadoRoot": "__ORIGIN__" + dicomweb_path,
            "wadoUriRoot": "__ORIGIN__" + dicomweb_path,
            "qidoSupportsIncludeField": False,
            "supportsReject": False,
            "imageRendering": "wadors",
            "thumbnailRendering": "wadors",
            "enableStudyLazyLoad": True,
            "supportsFuzzyMatching": False,
            "supportsWildcard": True,
            "dicomUploadEnabled": False,
            "omitQuotationForMultipartRequest": True,
            "bulkDataURI": {"enabled": True},
        },
    }
    config = {
        "routerBasename": "/",
        "extensions": [],
        "modes": [],
        "customizationService": {},
        "showStudyList": True,
        "maxNumberOfWebWorkers": 1,
        "showWarningMessageForCrossOrigin": False,
        "showCPUFallbackMessage": False,
        "showLoadingIndicator": True,
        "strictZSpacingForVolumeViewport": True,
        "showErrorDetails": "always",
        "investigationalUseDialog": {"option": "never"},
        "defaultDataSourceName": "orthanc",
        "dataSources": [source],
    }
    text = json.dumps(config, indent=2).replace('"__ORIGIN__', "window.location.origin + \"")
    return f"/* written by tests/integration/viewer/ohif_server.py */\nwindow.config = {text};\n"


class OhifServer:
    """The viewer's static files, its configuration and a DICOMweb proxy on one loopback port."""

    def __init__(self, dist: Path, dicomweb_port: int, dicomweb_root: str = DICOMWEB_PREFIX) -> None:
        self.dist = dist.resolve()
        self.upstream = ("127.0.0.1", dicomweb_port, dicomweb_root)
        self.config = app_config().encode()
        self.proxied: list[tuple[str, int]] = []  # (path, upstream status) of every proxied request
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="ohif-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._dispatch()

            def do_HEAD(self) -> None:  # noqa: N802
                self._dispatch()

            def do_POST(self) -> None:  # noqa: N802
                self._dispatch()

            def _dispatch(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith(DICOMWEB_PREFIX):
                    self._proxy()
                elif path == "/app-config.js":
                    self._send(200, server.config, "application/javascript")
                else:
                    self._static(path)

            def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _static(self, path: str) -> None:
                candidate = (server.dist / path.lstrip("/")).resolve()
                inside = candidate == server.dist or server.dist in candidate.parents
                if not (inside and candidate.is_file()):
                    candidate = server.dist / "index.html"  # the viewer's client-side routes
                kind = TYPES.get(candidate.suffix) or mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
                self._send(200, candidate.read_bytes(), kind)

            def _proxy(self) -> None:
                host, port, root = server.upstream
                target = root + self.path[len(DICOMWEB_PREFIX):]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                connection = http.client.HTTPConnection(host, port, timeout=60)
                try:
                    connection.request(self.command, target, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    passed = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-type"}}
                    server.proxied.append((target, response.status))
                    self._send(response.status, payload, response.getheader("Content-Type", "application/octet-stream"),
                               passed)
                except OSError as exc:
                    server.proxied.append((target, 502))
                    self._send(502, f"DICOMweb upstream unreachable: {exc}".encode(), "text/plain")
                finally:
                    connection.close()

        return Handler
