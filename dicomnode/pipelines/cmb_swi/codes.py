"""Coded concepts of the microbleed report, with where each was verified.

Standard codes were checked against the tables pydicom 3.0 generates from PS3.16
(``pydicom.sr._concepts_dict``, ``pydicom.sr._cid_dict``). DICOM and SNOMED CT as listed there have no
concept for a cerebral microbleed nor for the rating scales' compartments, so those are local codes of
the private coding scheme :data:`LOCAL_SCHEME` (PS3.16 8.2: a designator starting with "99"), each with a
meaning a reader understands without the scheme. The document structure, verdict and probability
concepts are shared with the hemorrhage report (:mod:`dicomnode.results.codes`): one vocabulary for both.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept

from inference.cmb.location import LocationClass

LOCAL_SCHEME = "99DCMNODE"
"""Private coding scheme of this node's own concepts (PS3.16 8.2, "99" prefix: not registered)."""

PROCEDURE_REPORTED = CodedConcept("25056-3", "LN", "MRI unspecified body region")
"""Procedure reported, TID 1500 row 4: PS3.16 CID 100 (pydicom CID table); the head is in the finding site."""

CEREBRAL_MICROBLEED = CodedConcept("CMB", LOCAL_SCHEME, "Cerebral microbleed")
"""Finding of every measurement group: a local code (no standard concept, see the module docstring)."""

DIAMETER = CodedConcept("81827009", "SCT", "Diameter")
"""SNOMED CT 81827009 "Diameter": PS3.16 CID 7469 Generic Intensity and Size Measurements (pydicom)."""

MILLIMETER = CodedConcept("mm", "UCUM", "millimeter")
"""UCUM mm (PS3.16 CID 7181 and others)."""

LOCATION_CLASS = CodedConcept("CMBLOC", LOCAL_SCHEME, "Microbleed location class")
"""Concept name of the rating-scale compartment (qualitative evaluation of each group): a local code."""

LOCATIONS = {
    LocationClass.LOBAR: CodedConcept("LOBAR", LOCAL_SCHEME, "Lobar (cortex, grey-white junction, subcortical)"),
    LocationClass.DEEP: CodedConcept("DEEP", LOCAL_SCHEME, "Deep (basal ganglia, thalamus, capsules, callosum)"),
    LocationClass.INFRATENTORIAL: CodedConcept("INFRATENT", LOCAL_SCHEME, "Infratentorial (brainstem, cerebellum)"),
}
"""The MARS / BOMBS compartments (:mod:`inference.cmb.location`), as local codes."""
