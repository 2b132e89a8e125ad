"""Coded values of the DICOM audit messages (PS3.15 A.5.3; codes from PS3.16 Annex D, scheme ``DCM``).

Each :class:`Code` becomes a ``CodedValueType`` element (PS3.15 A.5.1): ``csd-code``,
``codeSystemName`` and ``originalText`` (the code meaning).
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    """A coded value: code, coding scheme, meaning."""

    code: str
    scheme: str
    meaning: str


# Event IDs (PS3.15 A.5.3, CID 400 "Audit Event ID")
APPLICATION_ACTIVITY = Code("110100", "DCM", "Application Activity")
BEGIN_TRANSFERRING = Code("110102", "DCM", "Begin Transferring DICOM Instances")
INSTANCES_TRANSFERRED = Code("110104", "DCM", "DICOM Instances Transferred")
QUERY = Code("110112", "DCM", "Query")
SECURITY_ALERT = Code("110113", "DCM", "Security Alert")

# Event type codes (CID 401 "Audit Event Type Code")
APPLICATION_START = Code("110120", "DCM", "Application Start")
APPLICATION_STOP = Code("110121", "DCM", "Application Stop")
NODE_AUTHENTICATION = Code("110126", "DCM", "Node Authentication")
USE_OF_RESTRICTED_FUNCTION = Code("110132", "DCM", "Use of Restricted Function")

# Active participant role ID codes (CID 402 "Audit Active Participant Role ID Code")
APPLICATION = Code("110150", "DCM", "Application")
DESTINATION_ROLE = Code("110152", "DCM", "Destination Role ID")
SOURCE_ROLE = Code("110153", "DCM", "Source Role ID")

# Participant object ID type codes (CID 404 "Audit Participant Object ID Type Code")
STUDY_INSTANCE_UID = Code("110180", "DCM", "Study Instance UID")
SOP_CLASS_UID = Code("110181", "DCM", "SOP Class UID")
NODE_ID = Code("110182", "DCM", "Node ID")
URI = Code("12", "RFC-3881", "URI")

# Audit source type (RFC 3881 5.4.2 values, carried as a coded value in the DICOM schema)
APPLICATION_SERVER = Code("4", "DCM", "Application Server process tier in a multi-tier system")

# EventOutcomeIndicator (PS3.15 A.5.1): 0 success, 4 minor failure, 8 serious failure, 12 major failure
OUTCOME_SUCCESS, OUTCOME_MINOR, OUTCOME_SERIOUS, OUTCOME_MAJOR = "0", "4", "8", "12"

# ParticipantObjectTypeCode / ParticipantObjectTypeCodeRole (PS3.15 A.5.1, from RFC 3881)
TYPE_PERSON, TYPE_SYSTEM = "1", "2"
ROLE_REPORT, ROLE_RESOURCE, ROLE_QUERY = "3", "4", "24"

# NetworkAccessPointTypeCode: 1 machine name, 2 IP address
NAP_MACHINE_NAME, NAP_IP_ADDRESS = "1", "2"
