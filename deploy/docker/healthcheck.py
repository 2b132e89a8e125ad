#!/usr/bin/env python3
"""Container health check of ``dicomnode serve``: ``GET /health`` on the admin port over loopback.

Exit 0 when the node answers 200 (database, SCP, workers and disk all fine), 1 otherwise. Loopback GETs
need no token (see dicomnode.admin.auth). The port is ``$DICOMNODE_ADMIN__PORT``, default 8080.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = int(os.environ.get("DICOMNODE_ADMIN__PORT", "8080"))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"health check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
