"""Logging set-up for the CLI: one line per record, optionally JSON, UIDs only (never patient data).

Modules log through ``logging.getLogger(__name__)`` and put UIDs and AE titles in ``extra``-free messages;
only this module configures handlers, and only the CLI calls it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from db.text import bounded

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_MESSAGE_LIMIT = 2000  # characters of one log message (libraries echo raw values a peer sent)


class BoundedMessages(logging.Filter):
    """Every record's message escaped and bounded (:func:`db.text.bounded`): one line, at most 2,000 characters.

    pydicom and pynetdicom quote received values in their warnings (a 20,000-character "UID", an AE title of
    0xFF bytes); no such value may make a log line unbounded or split it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = bounded(record.getMessage(), LOG_MESSAGE_LIMIT), None
        return True


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object per line (time in UTC ISO 8601)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload)


def configure_logging(verbose: bool = False, json_logs: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
        formatter.converter = lambda *args: datetime.now(timezone.utc).timetuple()
        handler.setFormatter(formatter)
    handler.addFilter(BoundedMessages())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)  # library warnings go through the handler (and its bound), not raw to stderr
    # pynetdicom logs every PDU at DEBUG and dataset summaries (which may hold patient data) at INFO;
    # keep it at WARNING so no patient name or ID reaches the log.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every tick at INFO
