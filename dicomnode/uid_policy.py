"""What the node does with a non-conformant Study, Series or SOP Instance UID received on C-STORE.

PS3.5 9.1: a UID is at most 64 characters of digits and periods, in components without leading zeros.
Real archives hold values that break the rule: RSNA 2019 challenge exports carry "UIDs" such as
``ID_0fe31b044``, which Orthanc and dcm4chee store. The node stores instances under their UIDs
(``storage_dir/<Study>/<Series>/<SOP Instance>.dcm``), so any value it accepts must be a safe file name.
``[node] uid_policy`` chooses:

``strict`` (default)
    Only PS3.5 9.1 UIDs are accepted; anything else is refused with 0xC210 (Cannot understand) and an
    audit row naming the attribute.
``accept-safe``
    A non-conformant value is accepted when it is file-name safe: 1-64 characters of ``A-Z a-z 0-9 . _ -``,
    not starting with ``.`` or ``-`` (so never ``.``, ``..`` or an option-like name). The instance is stored
    under it and the store's audit row carries a warning naming the attribute and the value. Results made
    from such a series copy its Study Instance UID (the PACS already holds the study under it); their own
    Series and SOP Instance UIDs are always conformant.

Under either policy an empty value, or one with slashes, spaces, control characters or more than 64
characters, is refused with 0xC210. Trailing NUL and space padding (PS3.5 6.2) are removed first. The
policy covers the three instance UIDs only: a SOP Class UID must be a conformant UID to match a
presentation context at all. Linux file systems are case sensitive; ``ID_a`` and ``ID_A`` are two UIDs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from dicomnode.errors import CannotUnderstand

UidPolicy = Literal["strict", "accept-safe"]
UID_POLICIES: tuple[str, ...] = get_args(UidPolicy)
MAX_UID_LENGTH = 64
MAX_SHOWN_CHARS = 80
"""A refused value is quoted (escaped, ASCII) up to this many characters in messages and audit rows."""

_CONFORMANT = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_FILE_NAME_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class CheckedUids:
    """Accepted UIDs by attribute name, and one audit warning per non-conformant value accepted."""

    values: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def is_conformant(text: str) -> bool:
    """True when ``text`` is a UID by PS3.5 9.1 (digits and periods, no leading zeros, <= 64 characters)."""
    return len(text) <= MAX_UID_LENGTH and _CONFORMANT.fullmatch(text) is not None


def is_file_name_safe(text: str) -> bool:
    """True when ``text`` may be used as one file or folder name (the ``accept-safe`` rule)."""
    return len(text) <= MAX_UID_LENGTH and _FILE_NAME_SAFE.fullmatch(text) is not None


def normalised(value: object) -> str:
    """``value`` as text without the trailing NUL/space padding of PS3.5 6.2 (``""`` for ``None``)."""
    return str(value).rstrip("\x00 ").strip() if value is not None else ""


def check_uid(value: object, name: str, policy: UidPolicy) -> tuple[str, str | None]:
    """The accepted UID and a warning (``None`` when conformant); :class:`CannotUnderstand` when refused.

    Parameters
    ----------
    value
        The received value (a pydicom UID, a str, or ``None`` when absent).
    name
        The attribute as the messages name it, e.g. ``"Study Instance UID (0020,000D)"``.
    policy
        ``strict`` or ``accept-safe`` (module docstring).
    """
    text = normalised(value)
    if not text:
        raise CannotUnderstand(f"{name} is missing or empty")
    if is_conformant(text):
        return text, None
    shown = ascii(text[: MAX_UID_LENGTH + 1])
    shown = shown if len(shown) <= MAX_SHOWN_CHARS else shown[:MAX_SHOWN_CHARS] + "..."
    if policy == "accept-safe" and is_file_name_safe(text):
        return text, f"{name} {shown} is not a valid UID (PS3.5 9.1); accepted by node.uid_policy = accept-safe"
    rule = "a valid UID (PS3.5 9.1)" if policy == "strict" else "a valid UID or a file-name-safe value"
    raise CannotUnderstand(f"{name} {shown} is not {rule} (node.uid_policy = {policy})")


def check_instance_uids(uids: Mapping[str, object], policy: UidPolicy) -> CheckedUids:
    """Check every named UID of a received instance at once (e.g. Study, Series, SOP Instance).

    Raises
    ------
    CannotUnderstand
        The first refused value; its message names the attribute.
    """
    checked = CheckedUids(values={})
    for name, value in uids.items():
        text, warning = check_uid(value, name, policy)
        checked.values[name] = text
        if warning is not None:
            checked.warnings.append(warning)
    return checked
