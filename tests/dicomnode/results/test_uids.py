"""Deterministic result UIDs (issue 6 part 3)."""

from __future__ import annotations

import re

from dicomnode.results.uids import ResultUids

UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def all_uids(uids: ResultUids) -> list[str]:
    return [uids.sr_series, uids.sr_instance, uids.sc_series, uids.summary, uids.key_slice("1.2.3"),
            uids.seg_series, uids.seg_instance, uids.seg_dimensions, uids.tracking("subdural"),
            uids.tracking("subdural", "1.2.3", "outline"), uids.device]


def test_same_inputs_give_the_same_uids() -> None:
    assert all_uids(ResultUids("1.2.840.1", 1, "f" * 64)) == all_uids(ResultUids("1.2.840.1", 1, "f" * 64))


def test_uids_are_valid_distinct_and_short() -> None:
    values = all_uids(ResultUids("1.2.840.1", 1, "f" * 64))
    assert len(set(values)) == len(values)
    assert all(len(v) <= 64 and UID.match(v) and v.startswith("2.25.") for v in values)


def test_series_job_version_and_model_each_change_the_uids() -> None:
    base = ResultUids("1.2.840.1", 1, "f" * 64)
    for other in (ResultUids("1.2.840.2", 1, "f" * 64), ResultUids("1.2.840.1", 2, "f" * 64),
                  ResultUids("1.2.840.1", 1, "e" * 64)):
        assert set(all_uids(other)[:-1]).isdisjoint(all_uids(base)[:-1])
    assert base.key_slice("1.2.3") != base.key_slice("1.2.4")
    # the device (the algorithm) is the same whatever the job
    assert ResultUids("1.2.840.2", 7, "f" * 64).device == base.device
