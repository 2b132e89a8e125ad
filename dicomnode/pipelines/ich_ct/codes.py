"""Coded concepts of the hemorrhage reports, with where each was verified.

The document structure, verdict and unit concepts are the shared ones of :mod:`dicomnode.results.codes`
(checked against PS3.16 and UCUM as said there), imported here so the writers use one module. The
hemorrhage concepts below were checked against PS3.16 and UCUM too, and against:

FHIR
    SNOMED CT International edition as expanded by the HL7 terminology server tx.fhir.org (value-set
    expansions published in FHIR implementation guides; "Expansion from tx.fhir.org based on SNOMED CT
    International edition 01-Feb 2025").
Athena
    OHDSI Athena's SNOMED CT vocabulary as listed in public code tables, for the two subtype disorders
    DICOM does not list (epidural, subdural); flagged below to be re-checked in a SNOMED CT browser.

Every constant below says which source it was checked against. Display meanings are the ones in the
source, shortened only where the source lists the shorter form as a synonym.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept

from dicomnode.results.codes import (  # the shared vocabulary, re-exported for the hemorrhage writers
    ABSENT as ABSENT,
    BRAIN as BRAIN,
    COMMENT as COMMENT,
    ENGLISH as ENGLISH,
    IMAGING_MEASUREMENT_REPORT as IMAGING_MEASUREMENT_REPORT,
    PRESENT as PRESENT,
    PROBABILITY as PROBABILITY,
    PROBABILITY_UNIT as PROBABILITY_UNIT,
    QUALITATIVE_EVALUATIONS as QUALITATIVE_EVALUATIONS,
    SUMMARY as SUMMARY,
    UNDETERMINED as UNDETERMINED,
)

# --- document and template structure ---------------------------------------------------------------

PROCEDURE_REPORTED = CodedConcept("25045-6", "LN", "CT unspecified body region")
"""Procedure reported, TID 1500 row 4: a member of PS3.16 CID 100 Quantitative Diagnostic Imaging Procedures.
CID 100 is extensible, but PixelMed's validator (2022-06) reports a code outside it, e.g. (24725-4, LN)
"CT Head", as an error; the head is given by every finding site instead."""

ORIGINAL_SOURCE = CodedConcept("111040", "DCM", "Original Source")
"""PS3.16 Annex D: concept name of the IMAGE under each region's SCOORD (TID 1410 row 6 allows any);
the one Orthanc's Stone Web Viewer looks for."""

AREA = CodedConcept("42798000", "SCT", "Area")
"""SNOMED CT 42798000 "Area": PS3.16 CID 7469 Generic Intensity and Size Measurements (pydicom CID table)."""

SQUARE_MM = CodedConcept("mm2", "UCUM", "square millimeter")
"""UCUM mm2, as listed in PS3.16 CID 7181 Abstract Multi-dimensional Image Model Component Units."""

MORPHOLOGICALLY_ABNORMAL_STRUCTURE = CodedConcept("49755003", "SCT", "Morphologically Abnormal Structure")
"""PS3.16 CID 7150 Segmentation Property Categories: the category of every SEG segment (a bleed)."""

ARTIFICIAL_INTELLIGENCE = CodedConcept("123110", "DCM", "Artificial Intelligence")
"""PS3.16 CID 7162 Surface Processing Algorithm Families: the SEG's algorithm family."""

# --- findings (SNOMED CT disorders) ----------------------------------------------------------------

INTRACRANIAL_HEMORRHAGE = CodedConcept("1386000", "SCT", "Intracranial hemorrhage")
"""SNOMED CT 1386000 "Intracranial hemorrhage (disorder)": PS3.16 (pydicom concept table) and FHIR."""

CEREBRAL_HEMORRHAGE = CodedConcept("274100004", "SCT", "Cerebral hemorrhage")
"""SNOMED CT 274100004 "Cerebral hemorrhage (disorder)" (intraparenchymal, intracerebral): FHIR."""

SUBARACHNOID_HEMORRHAGE = CodedConcept("21454007", "SCT", "Subarachnoid intracranial hemorrhage")
"""SNOMED CT 21454007 "Subarachnoid intracranial hemorrhage (disorder)": FHIR."""

SUBDURAL_HEMORRHAGE = CodedConcept("35486000", "SCT", "Subdural intracranial hemorrhage")
"""SNOMED CT 35486000 "Subdural intracranial hemorrhage (disorder)": OHDSI Athena's SNOMED CT vocabulary
and other public terminology tables (not in PS3.16); check against a SNOMED CT browser before a
regulated release."""

INTRAVENTRICULAR_HEMORRHAGE = CodedConcept("274110009", "SCT", "Intraventricular hemorrhage")
"""SNOMED CT 274110009 "Intraventricular hemorrhage (disorder)": listed with this code in public stroke
registry code tables (not in PS3.16); check against a SNOMED CT browser before a regulated release."""

EPIDURAL_HEMORRHAGE = CodedConcept("82999001", "SCT", "Epidural intracranial hemorrhage")
"""SNOMED CT 82999001 "Epidural intracranial hemorrhage (disorder)": OHDSI Athena's SNOMED CT vocabulary
(as listed in public code tables; not in PS3.16); check against a SNOMED CT browser before a regulated
release."""

# --- finding sites (PS3.16 CID 4 / CID 7151 anatomic structures) ----------------------------------

HEAD = CodedConcept("69536005", "SCT", "Head")
"""PS3.16 CID 4 Anatomic Region: the SEG's Frame Anatomy (C.7.6.16.2.8)."""

INTRACRANIAL = CodedConcept("1101003", "SCT", "Intracranial")
"""SNOMED CT 1101003 (cranial cavity): PS3.16 CID 4 Anatomic Region, CID 7151."""

BRAIN_VENTRICLE = CodedConcept("35764002", "SCT", "Brain ventricle")
"""PS3.16 CID 7151 (site of intraventricular hemorrhage)."""

SUBARACHNOID_SPACE = CodedConcept("35951006", "SCT", "Subarachnoid space")
"""PS3.16 CID 7151 (site of subarachnoid hemorrhage)."""

DURA_MATER = CodedConcept("18545000", "SCT", "Dura mater")
"""PS3.16 CID 5, CID 7151 (epidural and subdural hemorrhage lie on either side of it)."""

# --- values and units ------------------------------------------------------------------------------

# --- the model's outputs ---------------------------------------------------------------------------

FINDINGS: dict[str, CodedConcept] = {
    "any": INTRACRANIAL_HEMORRHAGE,
    "epidural": EPIDURAL_HEMORRHAGE,
    "intraparenchymal": CEREBRAL_HEMORRHAGE,
    "intraventricular": INTRAVENTRICULAR_HEMORRHAGE,
    "subarachnoid": SUBARACHNOID_HEMORRHAGE,
    "subdural": SUBDURAL_HEMORRHAGE,
}
"""The finding of each label of :data:`inference.ich.labels.LABELS`."""

FINDING_SITES: dict[str, CodedConcept] = {
    "any": INTRACRANIAL,
    "epidural": DURA_MATER,
    "intraparenchymal": BRAIN,
    "intraventricular": BRAIN_VENTRICLE,
    "subarachnoid": SUBARACHNOID_SPACE,
    "subdural": DURA_MATER,
}
"""The anatomic site of each label's finding."""

DISPLAY_NAMES: dict[str, str] = {
    "any": "Intracranial hemorrhage",
    "epidural": "Epidural hemorrhage",
    "intraparenchymal": "Intraparenchymal hemorrhage",
    "intraventricular": "Intraventricular hemorrhage",
    "subarachnoid": "Subarachnoid hemorrhage",
    "subdural": "Subdural hemorrhage",
}
"""Human-readable names for labels, tracking identifiers and burned-in text."""

ABBREVIATIONS: dict[str, str] = {
    "any": "ICH", "epidural": "EDH", "intraparenchymal": "IPH",
    "intraventricular": "IVH", "subarachnoid": "SAH", "subdural": "SDH",
}


def probability_concept(label: str) -> CodedConcept:
    """Concept name of the probability measurement of ``label`` (PS3.16 TID 300 row 1).

    The finding names the measurement and the unit ``{probability}`` says what kind of value it is, so
    a viewer shows "Subdural intracranial hemorrhage = 0.73 {probability}".
    """
    return FINDINGS[label]
