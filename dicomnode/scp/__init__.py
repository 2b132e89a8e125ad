"""The Storage SCP: C-ECHO and C-STORE over pynetdicom, with access control, TLS and durable storage."""
