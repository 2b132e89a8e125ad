"""The DICOM audit message schema (PS3.15 A.5.1) shipped with the package; see ``audit-message.rng``."""
