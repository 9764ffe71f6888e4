"""Turning the words people and clients send into booleans, one way for the
whole project, with the strict semantics of OpenStack's services
(oslo_utils.strutils.bool_from_string(value, strict=True)): the six true
words, the six false words, in any case, with spaces around; anything else
is an error that names the value and what is accepted, never a silent
"false". An API turns that error into a 400 (bool_param).

One API reads flags otherwise, and is followed: Keystone's query flags
(`?effective`, `?include_names`) are true unless absent or `0` (query_flag)."""
from __future__ import annotations

from shared.errors import BadRequest

TRUE_WORDS = ("1", "t", "true", "on", "y", "yes")
FALSE_WORDS = ("0", "f", "false", "off", "n", "no")


class NotABoolean(ValueError):
    def __init__(self, value: object):
        accepted = ", ".join(f"'{word}'" for word in sorted(TRUE_WORDS + FALSE_WORDS))
        super().__init__(f"Unrecognized value '{value}', acceptable values are: {accepted}")


def bool_from_string(value: object) -> bool:
    """True or False for a bool or one of the accepted words; NotABoolean
    for anything else (None, '', 'maybe', 2)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    raise NotABoolean(value)


def bool_param(name: str, value: object) -> bool:
    """bool_from_string for a value a request sent (query parameter, header,
    body field): 400 naming the parameter when it is not a boolean."""
    try:
        return bool_from_string(value)
    except NotABoolean as exc:
        raise BadRequest(f"Invalid value for {name}: {exc}") from None


def query_flag(value: str | None) -> bool:
    """Keystone's query flag (keystone.common.utils' query_filter_is_true):
    None (absent) and "0" are false; any other value, "" included, is true."""
    return value is not None and value != "0"
