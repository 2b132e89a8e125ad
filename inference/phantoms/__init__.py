"""Synthetic head-CT phantoms with intracranial hemorrhage ground truth.

Deterministic per seed: :func:`generate_study` draws a head (anatomy, pose, scan geometry), lesions of
the five hemorrhage subtypes and look-alikes (calcifications, dense vessels, beam-hardening streaks), and
renders an HU volume with per-slice and per-study labels; :func:`write_dicom` writes it as a CT Image
Storage series. Nothing here imports the service (``dicomnode``) or the database (``db``).
"""
