"""Errors raised by the dicomnode service.

::

    DicomNodeError
    ├── ConfigError          a configuration key has a bad value; the message names the key
    ├── StorageError         an instance could not be made durable
    │   ├── OutOfResources   disk full, database unreachable -> DIMSE 0xA700
    │   └── CannotUnderstand dataset does not parse or lacks a required UID -> DIMSE 0xC210
    ├── StartupError         the node cannot start (port in use, TLS files unreadable, ...)
    └── AnalysisError        the analysis step failed (the job attempt fails and is retried)
        └── UnusableSeries   the series cannot be analysed as received (the job is skipped, not retried)
"""

from __future__ import annotations


class DicomNodeError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(DicomNodeError):
    """The configuration is invalid; the message names the key and the rule broken."""


class StartupError(DicomNodeError):
    """The service cannot start."""


class StorageError(DicomNodeError):
    """An instance could not be stored; ``status`` is the DIMSE status returned to the peer."""

    status: int = 0xC211


class OutOfResources(StorageError):
    """Disk or database unavailable (PS3.4 C-STORE status A7xx)."""

    status = 0xA700


class CannotUnderstand(StorageError):
    """The dataset cannot be parsed or lacks a required attribute (PS3.4 C-STORE status Cxxx)."""

    status = 0xC210


class AnalysisError(DicomNodeError):
    """The analysis step of a job failed; the message names the series and the cause."""


class UnusableSeries(AnalysisError):
    """The series is unusable as received (a missing or contradictory attribute, undecodable pixels).

    A data problem that no retry can fix: the worker ends the job ``skipped`` with this message as its
    reason. The message names the series, the attribute and the rule.
    """
