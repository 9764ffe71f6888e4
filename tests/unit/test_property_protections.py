"""Property protection rules, read from a real rules file."""
from __future__ import annotations

import pytest

from imaged.protections import PropertyProtections, ProtectionsFileError

RULES = """
[^os_distro$]
create = admin
read = @
update = admin
delete = admin

[^x_secret_]
create = admin
read = admin
update = admin
delete = !

[.*]
create = @
read = @
update = member,admin
delete = @
"""


@pytest.fixture
def protections(tmp_path):
    path = tmp_path / "property-protections.conf"
    path.write_text(RULES)
    return PropertyProtections.from_file(path)


def test_first_matching_section_decides(protections):
    assert protections.allows("create", "os_distro", ["admin"])
    assert not protections.allows("create", "os_distro", ["member", "reader"])
    assert protections.allows("read", "os_distro", ["reader"])
    assert protections.allows("create", "os_version", ["member"])
    assert not protections.allows("update", "os_version", ["reader"])


def test_nobody_and_read_filtering(protections):
    assert not protections.allows("delete", "x_secret_key", ["admin"])
    visible = protections.readable({"x_secret_key": "1", "os_distro": "debian"}, ["member"])
    assert visible == {"os_distro": "debian"}


def test_a_property_matching_no_section_is_refused(tmp_path):
    path = tmp_path / "rules.conf"
    path.write_text("[^os_]\ncreate = @\nread = @\nupdate = @\ndelete = @\n")
    assert not PropertyProtections.from_file(path).allows("create", "owner_note", ["admin"])


@pytest.mark.parametrize("text, message", [
    ("[^a$]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n", "both '@' and '!'"),
    ("[^a$]\ncreate = @\nread = @\nupdate = @\n", "has no 'delete'"),
    ("[(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n", "not a valid regular expression"),
    ("[^a$]\ncreate = @\nread = @\nupdate = @\ndelete = @\nshare = @\n", "unknown option"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "rules.conf"
    path.write_text(text)
    with pytest.raises(ProtectionsFileError, match=message):
        PropertyProtections.from_file(path)
