"""IHE ATNA-style audit export: DICOM audit messages (PS3.15 A.5) and RFC 5424 syslog forwarding.

Modules::

    codes.py     coded values (PS3.16 DCM codes used by PS3.15 A.5.3)
    messages.py  builders: Application Activity, Begin Transferring, Instances Transferred, Security
                 Alert, Query (PS3.15 A.5.3.1/.2/.4/.11/.12)
    mapping.py   audit_events row -> message
    validate.py  RELAX NG validation against schema/audit-message.rng (PS3.15 A.5.1)
    export.py    ``dicomnode audit --format atna``
    syslog.py    RFC 5424 messages over TCP (RFC 6587 octet counting) or TLS (RFC 5425), disk spool
    exporter.py  the background thread of ``dicomnode serve`` forwarding new audit rows
"""
