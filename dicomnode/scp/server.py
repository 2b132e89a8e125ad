"""The Storage SCP application entity: start listening, stop gracefully."""

from __future__ import annotations

import logging
import threading
import time

from pynetdicom import AE
from sqlalchemy.orm import Session, sessionmaker

from dicomnode.config import Config
from dicomnode.errors import StartupError
from dicomnode.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dicomnode.scp.access import AccessPolicy
from dicomnode.scp.commit import GroupCommit
from dicomnode.scp.contexts import as_presentation_contexts
from dicomnode.scp.handlers import IngestHandlers
from dicomnode.scp.inflate import InflateLimits
from dicomnode.scp.storage import DurableStore
from dicomnode.scp.gate import PendingLimits
from dicomnode.scp.tls import AuditedTLS, server_context
from dicomnode.scp.transport import GatedServer

log = logging.getLogger(__name__)


class StorageSCP:
    """One listening pynetdicom AE with the node's handlers."""

    def __init__(self, config: Config, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.store = DurableStore(config.node.storage_dir, writers=config.node.max_associations)
        self.committer = GroupCommit(sessions.kw["bind"])
        self.handlers = IngestHandlers(
            self.store,
            sessions,
            AccessPolicy(config.node.ae_title, config.security.allowed),
            tls=config.security.tls_enabled,
            limits=InflateLimits(config.node.max_inflated_bytes, config.node.max_inflate_ratio),
            per_host=config.node.max_associations_per_host,
            committer=self.committer,
            uid_policy=config.node.uid_policy,
        )
        self.ae = self._make_ae()
        self.server: GatedServer | None = None

    def _make_ae(self) -> AE:
        node = self.config.node
        ae = AE(ae_title=node.ae_title)
        ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
        ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
        ae.supported_contexts = as_presentation_contexts()
        ae.maximum_associations = node.max_associations
        ae.maximum_pdu_size = node.max_pdu_size
        ae.acse_timeout = node.acse_timeout
        ae.dimse_timeout = node.dimse_timeout
        ae.network_timeout = node.network_timeout
        return ae

    def start(self) -> None:
        """Prepare storage and start listening in a background thread, behind the gate."""
        self.store.prepare()
        node = self.config.node
        tls = None
        if self.config.security.tls_enabled:
            tls = AuditedTLS(server_context(self.config.security), node.acse_timeout, self.handlers.on_tls_failure)
        address = (node.host, node.port)
        try:
            server = self.ae.make_server(
                address,
                evt_handlers=self.handlers.bindings(),
                server_class=GatedServer,
                pending=PendingLimits(node.max_pending_per_host, node.max_pending),
                tls=tls,
                on_refused=self.handlers.on_refused_connection,
                on_invalid_request=self.handlers.on_invalid_request,
            )
        except OSError as exc:
            raise StartupError(f"cannot listen on {address[0]}:{address[1]} (node.host/node.port): {exc}") from exc
        if not isinstance(server, GatedServer):  # make_server is typed to return its base class
            raise TypeError(f"make_server built a {type(server).__name__}, not the GatedServer asked for")
        self.ae._servers.append(server)  # as AE.start_server does: AE.shutdown and server.shutdown expect it
        threading.Thread(target=server.serve_forever, name="AcceptorServer", daemon=True).start()
        self.server = server
        log.info("storage SCP %s listening on %s:%d%s", node.ae_title, *address, " with TLS" if tls else "")

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def stop(self, timeout: float) -> None:
        """Stop accepting, let open associations finish for up to ``timeout`` seconds, then abort them."""
        if self.server is None:
            return
        self.server.shutdown()
        self.server = None
        deadline = time.monotonic() + timeout
        while _established(self.ae) and time.monotonic() < deadline:
            time.sleep(0.1)
        remaining = self.ae.active_associations
        for assoc in remaining:
            log.warning("aborting association with %s at shutdown", assoc.requestor.ae_title)
            assoc.abort()
        for assoc in remaining:
            assoc.join(timeout)
        self.committer.close()  # after the last handler: every row handed over is committed or failed
        self.store.close()
        log.info("storage SCP stopped (%d association(s) aborted)", len(remaining))


def _established(ae: AE) -> list[object]:
    """Associations with work in progress (connections still waiting to negotiate do not count)."""
    return [assoc for assoc in ae.active_associations if assoc.is_established]
