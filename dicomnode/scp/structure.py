"""Check that an encoded data set is whole before it is parsed (PS3.5 Section 7, data set encoding).

pydicom reads an element whose length field runs past the end of the data as the bytes that are there,
so a data set cut short (Pixel Data 1,000 bytes shorter than its length field) or one with a corrupt short
length (0xFFFF swallowing the elements after it) parses without complaint. :func:`check_structure` walks
the element headers first: every length must fit inside its data set or item, tags must ascend
(PS3.5 7.1), sequences and items with undefined length must end with their delimiters (PS3.5 7.5), and
the walk must end exactly at the last byte. Any breach raises :class:`CannotUnderstand` naming the element.
On the way it keeps the values of the top-level elements asked for (:class:`Structure`), so a caller that
needs a few attributes does not parse the data set a second time.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass, field

from dicomnode.errors import CannotUnderstand

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
# PS3.5 Table 7.1-1: VRs with a reserved field and a 32-bit length in explicit VR encoding
LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
MAX_DEPTH = 32  # nested sequences deeper than this are refused (a recursion bomb, not an image)


@dataclass
class Structure:
    """What the walk learnt: the length of top-level Pixel Data (None when absent or encapsulated) and the
    value bytes of the top-level elements asked for, by tag (``vr`` is None in implicit VR encoding)."""

    pixel_length: int | None = None
    values: dict[int, tuple[bytes | None, bytes]] = field(default_factory=dict)


def check_structure(
    data: bytes | memoryview, *, implicit_vr: bool, little_endian: bool, wanted: Collection[int] = ()
) -> Structure:
    """Raise CannotUnderstand unless ``data`` is a complete, well-formed encoded data set.

    Returns the :class:`Structure`, with the values of the top-level elements whose tags are in ``wanted``.
    """
    walker = _Walker(memoryview(data), implicit_vr, little_endian, frozenset(wanted))
    end = walker.dataset(0, len(data), depth=0, delimited=False)
    if end != len(data):
        raise CannotUnderstand(f"data set has {len(data) - end} unexpected byte(s) after offset {end}")
    return walker.found


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class _Walker:
    def __init__(self, data: memoryview, implicit_vr: bool, little_endian: bool, wanted: frozenset[int]) -> None:
        self.data = data
        self.implicit_vr = implicit_vr
        self.order = "<" if little_endian else ">"
        self.wanted = wanted
        self.found = Structure()

    def implicit(self) -> "_Walker":
        return _Walker(self.data, True, self.order == "<", frozenset())

    def _header(self, pos: int, end: int) -> tuple[int, bytes | None, int, int]:
        """(tag, VR or None, value length, header size) of the element at ``pos``."""
        if end - pos < 8:
            raise CannotUnderstand(f"data set ends inside an element header at offset {pos}")
        group, element = struct.unpack_from(self.order + "HH", self.data, pos)
        tag = (group << 16) | element
        if group == 0xFFFE or self.implicit_vr:
            (length,) = struct.unpack_from(self.order + "L", self.data, pos + 4)
            return tag, None, length, 8
        vr = bytes(self.data[pos + 4 : pos + 6])
        if not (vr.isalpha() and vr.isupper()):
            raise CannotUnderstand(f"element {_tag_text(tag)} at offset {pos} has no valid VR (corrupt data set)")
        if vr in LONG_VRS:
            if end - pos < 12:
                raise CannotUnderstand(f"data set ends inside the header of element {_tag_text(tag)}")
            (length,) = struct.unpack_from(self.order + "L", self.data, pos + 8)
            return tag, vr, length, 12
        (length,) = struct.unpack_from(self.order + "H", self.data, pos + 6)
        return tag, vr, length, 8

    def dataset(self, pos: int, end: int, depth: int, delimited: bool) -> int:
        """Walk the elements in [pos, end); return where the data set ended (after its delimiter if any)."""
        previous = -1
        while pos < end:
            tag, vr, length, size = self._header(pos, end)
            if tag == ITEM_END:
                if not delimited:
                    raise CannotUnderstand(f"item delimiter at offset {pos} outside an item of undefined length")
                return pos + size
            if tag in (ITEM, SEQUENCE_END):
                raise CannotUnderstand(f"item tag {_tag_text(tag)} at offset {pos} outside a sequence")
            if tag <= previous:
                raise CannotUnderstand(
                    f"element {_tag_text(tag)} at offset {pos} is out of ascending tag order (PS3.5 7.1)"
                )
            previous = tag
            start = pos + size
            if length == UNDEFINED:
                if tag == PIXEL_DATA and vr != b"SQ":
                    pos = self._fragments(start, end)
                elif vr == b"UN":  # PS3.5 6.2.2: an unknown sequence keeps its implicit VR encoding
                    pos = self.implicit()._sequence(tag, start, end, depth + 1, delimited=True)
                elif vr in (None, b"SQ"):
                    pos = self._sequence(tag, start, end, depth + 1, delimited=True)
                else:
                    raise CannotUnderstand(f"element {_tag_text(tag)} ({vr!r}) has an undefined length")
                continue
            if length > end - start:
                raise CannotUnderstand(
                    f"element {_tag_text(tag)} declares {length} bytes but only {end - start} remain in its data set"
                )
            if vr == b"SQ":
                self._sequence(tag, start, start + length, depth + 1, delimited=False)
            elif depth == 0 and tag == PIXEL_DATA:
                self.found.pixel_length = length
            elif depth == 0 and tag in self.wanted:
                self.found.values[tag] = (vr, bytes(self.data[start : start + length]))
            pos = start + length
        if delimited:
            raise CannotUnderstand("data set ends before the delimiter of an item of undefined length")
        return pos

    def _sequence(self, tag: int, pos: int, end: int, depth: int, delimited: bool) -> int:
        if depth > MAX_DEPTH:
            raise CannotUnderstand(f"sequences nested deeper than {MAX_DEPTH} levels")
        while pos < end:
            item, _, length, size = self._header(pos, end)
            if item == SEQUENCE_END and delimited:
                return pos + size
            if item != ITEM:
                raise CannotUnderstand(f"sequence {_tag_text(tag)} holds {_tag_text(item)} where an item belongs")
            start = pos + size
            if length == UNDEFINED:
                pos = self.dataset(start, end, depth, delimited=True)
                continue
            if length > end - start:
                raise CannotUnderstand(f"an item of sequence {_tag_text(tag)} declares {length} bytes past its end")
            self.dataset(start, start + length, depth, delimited=False)
            pos = start + length
        if delimited:
            raise CannotUnderstand(f"sequence {_tag_text(tag)} ends without its delimiter")
        return pos

    def _fragments(self, pos: int, end: int) -> int:
        """Encapsulated Pixel Data (PS3.5 A.4): items of bytes up to the sequence delimiter."""
        while pos < end:
            item, _, length, size = self._header(pos, end)
            if item == SEQUENCE_END:
                return pos + size
            if item != ITEM or length == UNDEFINED:
                raise CannotUnderstand("encapsulated Pixel Data (7FE0,0010) holds a malformed fragment")
            if length > end - pos - size:
                raise CannotUnderstand(f"a Pixel Data fragment declares {length} bytes past the end of the data set")
            pos += size + length
        raise CannotUnderstand("encapsulated Pixel Data (7FE0,0010) ends without its sequence delimiter")
