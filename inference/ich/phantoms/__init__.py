"""Synthetic head-CT phantoms with intracranial hemorrhage ground truth.

Deterministic per seed: :func:`generate_study` draws a head (anatomy, pose, scan geometry), lesions of
the five hemorrhage subtypes and look-alikes (calcifications, dense vessels, beam-hardening streaks), and
renders an HU volume with per-slice and per-study labels; :func:`write_dicom` writes it as a CT Image
Storage series. Nothing here imports the service (``dicomnode``) or the database (``db``).
"""

from inference.ich.phantoms.dicom_writer import PhantomUids, phantom_uids, write_dicom
from inference.ich.phantoms.geometry import Geometry
from inference.ich.phantoms.ground_truth import GROUND_TRUTH_NAME, ground_truth, write_ground_truth
from inference.ich.phantoms.lesions import ABBREVIATIONS, SUBTYPES
from inference.ich.phantoms.study import PhantomStudy, generate_study

__all__ = [
    "ABBREVIATIONS",
    "GROUND_TRUTH_NAME",
    "SUBTYPES",
    "Geometry",
    "PhantomStudy",
    "PhantomUids",
    "generate_study",
    "ground_truth",
    "phantom_uids",
    "write_dicom",
    "write_ground_truth",
]
