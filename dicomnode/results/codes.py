"""Coded concepts every pipeline's reports use (document structure, verdicts, units), with where each
was verified.

Sources
-------
PS3.16
    DICOM PS3.16 (Content Mapping Resource): Annex D for the DCM codes, the context groups (CID) for
    SNOMED CT and LOINC codes that DICOM uses. Checked against the tables that pydicom 3.0.2 generates
    from the standard (``pydicom.sr._concepts_dict`` and ``pydicom.sr._cid_dict``).
UCUM
    The Unified Code for Units of Measure, section 2.2.3: an annotation in curly braces is a unit of
    dimension one, so ``{probability}`` is a valid UCUM unit for a value in [0, 1].

Every constant below says which of these it was checked against. Display meanings are the ones in the
source, shortened only where the source lists the shorter form as a synonym. A pipeline's own concepts
are in its ``codes`` module, with any further sources they were checked against.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept

IMAGING_MEASUREMENT_REPORT = CodedConcept("126000", "DCM", "Imaging Measurement Report")
"""PS3.16 Annex D, CID 7021 Measurement Report Document Title: TID 1500 root (what OHIF looks for)."""

ENGLISH = CodedConcept("en-US", "RFC5646", "English (United States)")
"""Language of content (TID 1204, CID 5000): RFC 5646 tag, as highdicom writes it."""

SUMMARY = CodedConcept("121111", "DCM", "Summary")
"""PS3.16 Annex D: concept name of the one-sentence summary in the qualitative evaluations."""

QUALITATIVE_EVALUATIONS = CodedConcept("C0034375", "UMLS", "Qualitative Evaluations")
"""TID 1500 row 12, the document-level container of the study verdict: PS3.16 (and PixelMed's compiled
TID 1500 rules, which expect exactly this code)."""

PROBABILITY = CodedConcept("122157", "DCM", "Probability")
"""PS3.16 Annex D: concept name of the study-level probability lines (TEXT, TID 1500 row 14)."""

COMMENT = CodedConcept("121106", "DCM", "Comment")
"""PS3.16 Annex D: concept name of each reason of an indeterminate result (TEXT, TID 1500 row 14)."""

BRAIN = CodedConcept("12738006", "SCT", "Brain")
"""PS3.16 CID 4, CID 7151 (site of intraparenchymal hemorrhage)."""

PRESENT = CodedConcept("52101004", "SCT", "Present")
"""PS3.16 CID 240 Present-Absent."""

ABSENT = CodedConcept("272519000", "SCT", "Absent")
"""PS3.16 CID 240 Present-Absent."""

UNDETERMINED = CodedConcept("373068000", "SCT", "Undetermined")
"""SNOMED CT 373068000 "Undetermined": PS3.16 CID 240 Present-Absent (and CID 230 Yes-No), per pydicom's
CID table; the value of an indeterminate result's qualitative evaluation."""

PROBABILITY_UNIT = CodedConcept("{probability}", "UCUM", "probability")
"""UCUM annotation (dimension one): the unit of every probability measurement."""
