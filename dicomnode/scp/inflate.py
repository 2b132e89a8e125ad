"""Bounded inflation of Deflated Explicit VR Little Endian data sets (PS3.5 A.5; RFC 1951).

A data set of about 1 MB can inflate to 1 GB (zero pixel data compresses about 1000:1). pynetdicom and
pydicom inflate in one call, so the node never lets them: :func:`inflate` streams the raw deflate data
through :func:`zlib.decompressobj` with ``max_length`` and stops as soon as the output would pass
``min(max_bytes, max_ratio x received size)``. Memory held is therefore bounded by that cap whatever the
peer sends; a data set over it is refused with 0xA700 (out of resources) naming the setting.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from dicomnode.errors import CannotUnderstand, OutOfResources

CHUNK = 1 << 20  # inflate one MiB at a time


@dataclass(frozen=True)
class InflateLimits:
    """``node.max_inflated_bytes`` and ``node.max_inflate_ratio``."""

    max_bytes: int
    max_ratio: float

    def cap(self, received: int) -> int:
        return int(min(self.max_bytes, max(received, 1) * self.max_ratio))


def inflate(deflated: bytes | memoryview, limits: InflateLimits) -> bytes:
    """The inflated data set; OutOfResources past the cap, CannotUnderstand when the stream is not deflate."""
    cap = limits.cap(len(deflated))
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header (PS3.5 A.5)
    out = bytearray()
    pending: bytes | memoryview = deflated
    try:
        while pending and not inflater.eof:
            out += inflater.decompress(pending, min(CHUNK, cap + 1 - len(out)))
            if len(out) > cap:
                raise OutOfResources(_too_large(len(deflated), cap, limits))
            pending = inflater.unconsumed_tail
        out += inflater.flush(cap + 1 - len(out))
    except zlib.error as exc:
        raise CannotUnderstand(f"deflated data set does not inflate: {exc}") from exc
    if len(out) > cap:
        raise OutOfResources(_too_large(len(deflated), cap, limits))
    return bytes(out)


def _too_large(received: int, cap: int, limits: InflateLimits) -> str:
    setting = "node.max_inflated_bytes" if cap == limits.max_bytes else "node.max_inflate_ratio"
    return (
        f"deflated data set of {received} bytes inflates past {cap} bytes, the node's cap "
        f"({setting}: at most {limits.max_bytes} bytes and {limits.max_ratio:g} times the received size)"
    )
