"""SWI phantoms from physics: susceptibility map -> dipole field -> gradient-echo signal -> DICOM + truth."""
