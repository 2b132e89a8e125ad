"""Who may associate: (calling AE title, source host) pairs and the called AE title.

Rejections use the A-ASSOCIATE-RJ reasons of PS3.8 Table 9-21: ``calling AE title not recognized``
(result 1, source 1, reason 3) for a caller outside the list, ``called AE title not recognized``
(1, 1, 7) for a wrong called AE title, ``local limit exceeded`` (2, 3, 2) for a host over its share.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dicomnode.config import AllowedPeer

REJECT_CALLING_AE = (0x01, 0x01, 0x03)
REJECT_CALLED_AE = (0x01, 0x01, 0x07)
REJECT_LOCAL_LIMIT = (0x02, 0x03, 0x02)  # transient, service provider (presentation), local limit exceeded


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    reject: tuple[int, int, int] | None = None


class AccessPolicy:
    """Decides whether an association request is accepted."""

    def __init__(self, called_ae: str, allowed: list[AllowedPeer]) -> None:
        self.called_ae = called_ae
        self._rules = [(peer.ae_title, ipaddress.ip_network(peer.host, strict=False)) for peer in allowed]

    def decide(self, calling_ae: str, called_ae: str, host: str) -> Decision:
        if called_ae.strip() != self.called_ae:
            return Decision(False, f"called AE title {called_ae.strip()!r} is not {self.called_ae!r}", REJECT_CALLED_AE)
        address = _address(host)
        for ae_title, network in self._rules:
            if ae_title in ("*", calling_ae.strip()) and address is not None and address in network:
                return Decision(True)
        return Decision(
            False, f"calling AE title {calling_ae.strip()!r} from {host} is not in security.allowed", REJECT_CALLING_AE
        )


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
