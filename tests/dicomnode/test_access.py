"""Access control: (calling AE, host) pairs and the called AE title (PS3.8 A-ASSOCIATE-RJ reasons)."""

from __future__ import annotations

from dicomnode.config import AllowedPeer
from dicomnode.scp.access import REJECT_CALLED_AE, REJECT_CALLING_AE, AccessPolicy

POLICY = AccessPolicy(
    "DICOMNODE",
    [AllowedPeer(ae_title="*", host="127.0.0.1"), AllowedPeer(ae_title="CT01", host="10.20.0.0/16")],
)


def test_loopback_any_ae() -> None:
    assert POLICY.decide("ANYTHING", "DICOMNODE", "127.0.0.1").allowed


def test_named_ae_from_its_network_only() -> None:
    assert POLICY.decide("CT01", "DICOMNODE", "10.20.3.4").allowed
    refused = POLICY.decide("CT02", "DICOMNODE", "10.20.3.4")
    assert not refused.allowed and refused.reject == REJECT_CALLING_AE
    assert not POLICY.decide("CT01", "DICOMNODE", "10.21.0.1").allowed


def test_ipv4_mapped_ipv6_address_matches_ipv4_rule() -> None:
    assert POLICY.decide("X", "DICOMNODE", "::ffff:127.0.0.1").allowed


def test_wrong_called_ae_is_refused_first() -> None:
    decision = POLICY.decide("CT01", "OTHER", "10.20.3.4")
    assert decision.reject == REJECT_CALLED_AE and "OTHER" in decision.reason


def test_unparseable_host_is_refused() -> None:
    assert not POLICY.decide("X", "DICOMNODE", "not-an-address").allowed
