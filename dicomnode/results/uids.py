"""Deterministic UIDs for the objects the node produces.

A result re-built after a retry, a crash or an operator's ``resend`` must carry the same Series and SOP
Instance UIDs, so the PACS sees the same instances again instead of duplicates (PS3.4 C-STORE: a second
store of a known SOP Instance UID replaces or is ignored, never adds). Each UID is therefore a function
of what the result is *of*: the source series, the job version that analysed it and the model's hash,
plus the role of the object (SR, SEG, SC series, key slice n, summary image).

UIDs use the ``2.25`` root followed by the decimal value of a name-based UUID (version 5, RFC 4122 4.3)
of those inputs: PS3.5 B.2 (UUID-derived UIDs, ISO/IEC 9834-8), at most 44 characters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:dicomnode:results:v1")
"""Changes only if the derivation changes; the UUID namespace of every result UID."""


def derived_uid(*parts: str) -> str:
    """``2.25.<int>`` of the version 5 UUID of ``parts`` (joined by a separator no UID contains)."""
    return f"2.25.{uuid.uuid5(NAMESPACE, chr(31).join(parts)).int}"


@dataclass(frozen=True)
class ResultUids:
    """The UIDs of one job's results.

    Parameters
    ----------
    source_series_uid : str
        Series Instance UID of the analysed series.
    job_version : int or str
        The job's version of that series (a new version, e.g. after more slices arrived, gives new UIDs).
    model_hash : str
        sha256 of the model's weights (:attr:`inference.ich.checkpoint.ModelInfo.model_hash`): another model
        gives other results, hence other instances.
    """

    source_series_uid: str
    job_version: int | str
    model_hash: str

    def _uid(self, *role: str) -> str:
        return derived_uid(self.source_series_uid, str(self.job_version), self.model_hash, *role)

    @property
    def sr_series(self) -> str:
        return self._uid("sr", "series")

    @property
    def sr_instance(self) -> str:
        return self._uid("sr", "instance")

    @property
    def sc_series(self) -> str:
        return self._uid("sc", "series")

    def key_slice(self, source_sop_instance_uid: str) -> str:
        """SOP Instance UID of the key-slice SC image made from ``source_sop_instance_uid``."""
        return self._uid("sc", "key-slice", source_sop_instance_uid)

    @property
    def summary(self) -> str:
        return self._uid("sc", "summary")

    @property
    def seg_series(self) -> str:
        return self._uid("seg", "series")

    @property
    def seg_instance(self) -> str:
        return self._uid("seg", "instance")

    @property
    def seg_dimensions(self) -> str:
        """Dimension Organization UID of the SEG (highdicom would draw a random one)."""
        return self._uid("seg", "dimensions")

    @property
    def device(self) -> str:
        """Device Observer UID (TID 1004) of the algorithm: one per model, whatever the job."""
        return derived_uid("device", self.model_hash)

    def tracking(self, label: str, *where: str) -> str:
        """Tracking Unique Identifier (TID 1410 row 3, TID 4019 / SEG Tracking UID) of finding ``label``.

        ``where`` names one drawn item of the finding (e.g. the slice's SOP Instance UID and "outline"):
        viewers merge the groups that share a tracking UID, so every drawn region has its own.
        """
        return self._uid("sr", "tracking", label, *where)
