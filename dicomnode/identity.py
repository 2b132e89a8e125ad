"""How the node identifies itself on the network (PS3.7 D.3.3.2 Implementation Class UID and Version Name).

The class UID lies under pydicom's UID root and was derived once, deterministically, with
``pydicom.uid.generate_uid(entropy_srcs=["dicomnode", "implementation class"])``; a site with its own
organisation root may replace it. The version name changes with each release that changes DICOM behaviour.
"""

from __future__ import annotations

from dicomnode import __version__

IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.8.498.13597428160113683248351371617934617893"
IMPLEMENTATION_VERSION_NAME = "DICOMNODE_" + __version__.replace(".", "")
