"""[node] uid_policy: strict refuses non-conformant UIDs; accept-safe stores file-name-safe ones with a warning."""

from __future__ import annotations

import pytest

from dicomnode.config import Config, load_config
from dicomnode.errors import CannotUnderstand, ConfigError
from dicomnode.uid_policy import check_instance_uids, check_uid, is_conformant, is_file_name_safe

RSNA = "ID_0fe31b044"


@pytest.mark.parametrize("value", ["1.2.840.10008.1.2", "0", "1.2.0.3", "1" * 64])
def test_conformant_uids_pass_under_both_policies_without_warning(value: str) -> None:
    for policy in ("strict", "accept-safe"):
        assert check_uid(value, "SOP Instance UID (0008,0018)", policy) == (value, None)


def test_padding_is_removed_first() -> None:
    assert check_uid("1.2.3\x00", "x", "strict") == ("1.2.3", None)
    assert check_uid(f"{RSNA} ", "x", "accept-safe")[0] == RSNA


def test_strict_refuses_rsna_ids_with_0xc210_naming_the_attribute() -> None:
    with pytest.raises(CannotUnderstand, match=r"Study Instance UID \(0020,000D\) 'ID_0fe31b044' is not a valid UID") as err:
        check_uid(RSNA, "Study Instance UID (0020,000D)", "strict")
    assert err.value.status == 0xC210


def test_accept_safe_keeps_rsna_ids_and_says_so() -> None:
    value, warning = check_uid(RSNA, "SOP Instance UID (0008,0018)", "accept-safe")
    assert value == RSNA
    assert warning == (
        "SOP Instance UID (0008,0018) 'ID_0fe31b044' is not a valid UID (PS3.5 9.1); accepted by node.uid_policy = accept-safe"
    )


@pytest.mark.parametrize(
    "value", ["", "   ", "\x00", "../etc", "a/b", "a\\b", "..", ".hidden", "-rf", "two words", "ID\x00X", "x" * 65,
              "1.2.3" * 20, "caf\u00e9"],
)
def test_unsafe_values_are_refused_under_both_policies(value: str) -> None:
    for policy in ("strict", "accept-safe"):
        with pytest.raises(CannotUnderstand):
            check_uid(value, "Series Instance UID (0020,000E)", policy)


def test_refusal_message_is_bounded_and_ascii() -> None:
    with pytest.raises(CannotUnderstand) as err:
        check_uid("\u2603/" * 5000, "x", "accept-safe")
    assert len(str(err.value)) < 200 and str(err.value).isascii()


def test_rules() -> None:
    assert is_conformant("1.2.3") and not is_conformant("1.02") and not is_conformant("1..2") and not is_conformant(RSNA)
    assert is_file_name_safe(RSNA) and is_file_name_safe("1.2.3") and not is_file_name_safe(".x")


def test_check_instance_uids_collects_one_warning_per_accepted_value() -> None:
    checked = check_instance_uids(
        {"Study Instance UID (0020,000D)": "ID_s", "Series Instance UID (0020,000E)": "1.2.3",
         "SOP Instance UID (0008,0018)": RSNA},
        "accept-safe",
    )
    assert checked.values == {"Study Instance UID (0020,000D)": "ID_s", "Series Instance UID (0020,000E)": "1.2.3",
                              "SOP Instance UID (0008,0018)": RSNA}
    assert [w.split(" '")[0] for w in checked.warnings] == ["Study Instance UID (0020,000D)", "SOP Instance UID (0008,0018)"]
    with pytest.raises(CannotUnderstand, match="Study Instance UID"):
        check_instance_uids({"Study Instance UID (0020,000D)": "ID_s"}, "strict")


def test_setting_defaults_to_strict_and_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Config().node.uid_policy == "strict"
    monkeypatch.setenv("DICOMNODE_NODE__UID_POLICY", "accept-safe")
    assert load_config(None).node.uid_policy == "accept-safe"
    monkeypatch.setenv("DICOMNODE_NODE__UID_POLICY", "lenient")
    with pytest.raises(ConfigError, match="node.uid_policy"):
        load_config(None)
