"""dicomnode: a DICOM node that reads head CT for intracranial hemorrhage and reports back to the PACS."""

__version__ = "0.1.0"
