"""The swift backup store's writer without a Swift: one PUT at commit (never
before), If-None-Match so a name is written once, the md5 as ETag, a spool
file past the memory limit; and volumed.conf following pocketstack.conf."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from shared.clients import RemoteError
from volumed.backup import swift
from volumed.backup.base import BackupStoreError
from volumed.config import stack_settings


class FakeSwift:
    def __init__(self, status: int = 201):
        self.status = status
        self.puts: list[tuple[str, str, bytes, dict]] = []

    def put_object(self, caller, container, name, body, headers=None):
        data = body if isinstance(body, bytes) else body.read()
        if self.status != 201:
            raise RemoteError("swift", self.status, "refused")
        self.puts.append((container, name, data, headers or {}))
        return hashlib.md5(data).hexdigest()


def test_one_put_at_commit_with_md5_and_if_none_match(tmp_path, monkeypatch):
    monkeypatch.setattr(swift, "MEMORY_LIMIT", 10)
    client = FakeSwift()
    with swift.SwiftWriter(client, "volumebackups", "obj-00001", tmp_path) as writer:
        writer.write(b"0123456789")
        writer.write(b"abcdef")          # past the limit: spooled to an unnamed file
        assert client.puts == [] and writer.spool is not None
        assert list(tmp_path.iterdir()) == []
    assert client.puts == [("volumebackups", "obj-00001", b"0123456789abcdef",
                            {"If-None-Match": "*",
                             "ETag": hashlib.md5(b"0123456789abcdef").hexdigest()})]


def test_an_error_sends_nothing_and_an_existing_name_is_refused(tmp_path):
    client = FakeSwift()
    with pytest.raises(ValueError), swift.SwiftWriter(client, "c", "o", tmp_path) as writer:
        writer.write(b"data")
        raise ValueError("the volume could not be read")
    assert client.puts == []
    taken = FakeSwift(status=412)
    with pytest.raises(BackupStoreError, match="exists already"), \
            swift.SwiftWriter(taken, "c", "o", tmp_path) as writer:
        writer.write(b"data")


def test_container_names_are_one_segment():
    assert swift.SwiftStore._name("volumebackups") == "volumebackups"
    for bad in ("a/b", "../x", "/abs"):
        with pytest.raises(BackupStoreError):
            swift.SwiftStore._name(bad)


def test_volumed_backs_up_to_swift_when_the_stack_runs_swift():
    def stack(enabled: bool):
        return SimpleNamespace(swift=SimpleNamespace(enabled=enabled))
    assert stack_settings(stack(True)) == {"backup": {"backup_driver": "swift"}}
    assert stack_settings(stack(False)) == {}
