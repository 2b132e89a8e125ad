"""What a TID 1500 Measurement Report says, read independently of the code that wrote it.

The test compares this with what the viewer shows: every measurement group (TID 1410/1411 and the like,
concept (125007, DCM, "Measurement Group")) with its finding, tracking identifier and the graphics it draws,
each with the SOP Instance UIDs of the images it is drawn on (PS3.16 TID 1500, PS3.3 C.17.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

MEASUREMENT_GROUP = ("125007", "DCM")
FINDING = ("121071", "DCM")
TRACKING_ID = ("112039", "DCM")
TRACKING_UID = ("112040", "DCM")
SPATIAL = {"SCOORD", "SCOORD3D"}


@dataclass
class Graphic:
    """One SCOORD or SCOORD3D item: its value type, graphic type and the images (SOP Instance UIDs) it is on."""

    value_type: str
    graphic_type: str
    images: list[str] = field(default_factory=list)


@dataclass
class Finding:
    """One measurement group of the report."""

    finding: str  # the Finding's code meaning, e.g. "Subdural hemorrhage"
    tracking_id: str
    tracking_uid: str
    graphics: list[Graphic] = field(default_factory=list)

    @property
    def images(self) -> set[str]:
        return {uid for g in self.graphics for uid in g.images}


def concept(item: Dataset) -> tuple[str, str]:
    names = item.get("ConceptNameCodeSequence")
    return (str(names[0].CodeValue), str(names[0].CodingSchemeDesignator)) if names else ("", "")


def walk(items: list[Dataset]) -> Iterator[Dataset]:
    """Every content item below ``items``, depth first."""
    for item in items:
        yield item
        yield from walk(list(item.get("ContentSequence", [])))


def graphic_of(item: Dataset) -> Graphic:
    images = [str(ref.ReferencedSOPInstanceUID)
              for child in item.get("ContentSequence", []) if child.ValueType == "IMAGE"
              for ref in child.ReferencedSOPSequence]
    images += [str(ref.ReferencedSOPInstanceUID) for ref in item.get("ReferencedSOPSequence", [])]  # TID 1410 w/o IMAGE
    return Graphic(str(item.ValueType), str(item.GraphicType), images)


def findings(sr: Dataset) -> list[Finding]:
    """The measurement groups of ``sr`` in document order."""
    found = []
    for group in walk(list(sr.get("ContentSequence", []))):
        if group.ValueType != "CONTAINER" or concept(group) != MEASUREMENT_GROUP:
            continue
        entry = Finding("", "", "")
        for item in walk(list(group.get("ContentSequence", []))):
            name = concept(item)
            if name == FINDING and item.ValueType == "CODE":
                entry.finding = str(item.ConceptCodeSequence[0].CodeMeaning)
            elif name == TRACKING_ID:
                entry.tracking_id = str(item.TextValue)
            elif name == TRACKING_UID:
                entry.tracking_uid = str(item.UID)
            elif item.ValueType in SPATIAL:
                entry.graphics.append(graphic_of(item))
        found.append(entry)
    return found
