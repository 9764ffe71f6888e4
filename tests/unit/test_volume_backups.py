"""The pure pieces of volume backups: Cinder's chunked format over the posix
store (layout, full and incremental backups, restore, nothing half-written)
and the rules of domain/backups.py."""
from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import json
import os
import resource
import signal
import zlib

import pytest

from shared.errors import BadRequest
from volumed.backup.base import BackupStoreError
from volumed.backup.chunked import BackupRecord, ChunkedBackup, ChunkSettings
from volumed.backup.posix import PosixStore
from volumed.domain import backups

BLOCK = 4096
SETTINGS = ChunkSettings(chunk_size=16 * BLOCK, sha_block_size=BLOCK, compression="zlib")
SIZE = 40 * BLOCK   # two whole chunks and a short one


def record(backup_id: str, parent: str | None = None, container: str = "c1") -> BackupRecord:
    return BackupRecord(id=backup_id, volume_id="vol-1", container=container,
                        prefix=f"volume_vol-1_20261206000000_backup_{backup_id}",
                        name=f"name-{backup_id}", created_at="2026-12-06 00:00:00",
                        parent_id=parent)


def volume_data() -> bytearray:
    data = bytearray(SIZE)
    data[BLOCK:3 * BLOCK] = os.urandom(2 * BLOCK)
    data[20 * BLOCK:21 * BLOCK] = b"x" * BLOCK
    return data


@pytest.fixture
def store(tmp_path) -> PosixStore:
    return PosixStore(tmp_path / "backup")


@pytest.mark.parametrize("compression", ["zlib", "bz2", "none"])
def test_full_backup_has_cinders_layout_and_restores(store, compression):
    driver = ChunkedBackup(store, ChunkSettings(16 * BLOCK, BLOCK, compression))
    data = volume_data()
    full = record("b1")
    count = driver.backup(full, io.BytesIO(bytes(data)), SIZE)
    assert count == 3
    names = sorted(store.list_objects("c1", full.prefix))
    assert names == sorted([f"{full.prefix}-00001", f"{full.prefix}-00002",
                            f"{full.prefix}-00003", f"{full.prefix}_metadata",
                            f"{full.prefix}_sha256file"])
    with store.open_object("c1", f"{full.prefix}_metadata") as handle:
        metadata = json.load(handle)
    assert metadata["version"] == "1.0.0" and metadata["backup_id"] == "b1"
    assert metadata["parent_id"] is None and metadata["volume_id"] == "vol-1"
    first = metadata["objects"][0][f"{full.prefix}-00001"]
    assert first["offset"] == 0 and first["length"] == 16 * BLOCK
    assert first["compression"] == compression
    with store.open_object("c1", f"{full.prefix}_sha256file") as handle:
        shafile = json.load(handle)
    assert shafile["chunk_size"] == BLOCK and len(shafile["sha256s"]) == 40
    assert shafile["sha256s"] == [hashlib.sha256(data[i:i + BLOCK]).hexdigest()
                                  for i in range(0, SIZE, BLOCK)]

    target = io.BytesIO(bytes(SIZE))
    driver.restore([full], target, volume_is_new=True)
    assert target.getvalue() == bytes(data)


def test_incremental_backup_keeps_only_the_changed_blocks(store):
    driver = ChunkedBackup(store, SETTINGS)
    data = volume_data()
    full = record("b1")
    driver.backup(full, io.BytesIO(bytes(data)), SIZE)
    before = bytes(data)
    data[2 * BLOCK:4 * BLOCK] = b"\x00" * 2 * BLOCK        # some data wiped
    data[30 * BLOCK:31 * BLOCK] = b"y" * BLOCK              # something new
    incremental = record("b2", parent="b1")
    count = driver.backup(incremental, io.BytesIO(bytes(data)), SIZE, parent=full)
    assert count == 2
    with store.open_object("c1", f"{incremental.prefix}_metadata") as handle:
        objects = json.load(handle)["objects"]
    extents = [(info["offset"], info["length"]) for entry in objects
               for info in entry.values()]
    assert extents == [(2 * BLOCK, BLOCK), (30 * BLOCK, BLOCK)]

    # Restoring the incremental one lays the full one down first, even into a
    # new volume (the wiped blocks are written as zeroes, not skipped).
    for volume_is_new in (True, False):
        target = io.BytesIO(bytes(SIZE) if volume_is_new else b"z" * SIZE)
        driver.restore([full, incremental], target, volume_is_new=volume_is_new)
        assert target.getvalue() == bytes(data)
    target = io.BytesIO(bytes(SIZE))
    driver.restore([full], target, volume_is_new=True)
    assert target.getvalue() == before


def test_a_failed_backup_leaves_nothing(store):
    driver = ChunkedBackup(store, SETTINGS)
    short = io.BytesIO(bytes(volume_data())[:20 * BLOCK])   # ends before its size
    with pytest.raises(BackupStoreError, match="ended at byte"):
        driver.backup(record("b1"), short, SIZE)
    assert store.list_objects("c1", "") == []
    assert list(store.root.rglob("*")) == []


def test_a_backup_failing_before_its_first_object_leaves_no_container(store):
    driver = ChunkedBackup(store, SETTINGS)
    container = backups.default_container("0123abcd-0000-0000-0000-000000000000")
    short = io.BytesIO(bytes(volume_data())[:8 * BLOCK])   # ends inside the first chunk
    with pytest.raises(BackupStoreError, match="ended at byte"):
        driver.backup(record("b1", container=container), short, SIZE)
    assert list(store.root.iterdir()) == []


def test_an_object_whose_last_bytes_cannot_be_written_leaves_nothing(store):
    """The bytes still buffered when an object is committed may be refused
    then (a full disk). Here the kernel refuses them because of the
    process's file size limit (EFBIG), set for the moment of the commit:
    no temporary file may stay behind."""
    store.put_container("c1")
    writer = store.object_writer("c1", "object")
    writer.write(b"x" * 100)   # buffered, not yet written
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG, not a signal
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, limit[1]))
        with pytest.raises(OSError) as raised:
            writer.commit()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, previous)
    assert raised.value.errno == errno.EFBIG
    assert list((store.root / "c1").iterdir()) == []


def test_a_damaged_or_incomplete_backup_does_not_restore(store):
    driver = ChunkedBackup(store, SETTINGS)
    full = record("b1")
    driver.backup(full, io.BytesIO(bytes(volume_data())), SIZE)
    path = store.root / "c1" / f"{full.prefix}-00002"
    path.write_bytes(path.read_bytes()[:-3] + b"abc")
    with pytest.raises((BackupStoreError, zlib.error)):
        driver.restore([full], io.BytesIO(bytes(SIZE)), volume_is_new=True)
    path.unlink()
    with pytest.raises(BackupStoreError, match="does not match object list"):
        driver.restore([full], io.BytesIO(bytes(SIZE)), volume_is_new=True)


def test_delete_removes_every_object_and_empty_directories(store):
    driver = ChunkedBackup(store, SETTINGS)
    container = backups.default_container("0123abcd-0000-0000-0000-000000000000")
    assert container == "01/23/0123abcd-0000-0000-0000-000000000000"
    full = record("b1", container=container)
    driver.backup(full, io.BytesIO(bytes(volume_data())), SIZE)
    driver.delete(full.container, full.prefix)
    assert list(store.root.iterdir()) == []


def test_a_hash_block_size_change_needs_a_full_backup(store):
    ChunkedBackup(store, SETTINGS).backup(record("b1"), io.BytesIO(bytes(SIZE)), SIZE)
    other = ChunkedBackup(store, ChunkSettings(16 * BLOCK, 2 * BLOCK, "zlib"))
    with pytest.raises(BackupStoreError, match="Hash block size has changed"):
        other.backup(record("b2", parent="b1"), io.BytesIO(bytes(SIZE)), SIZE,
                     parent=record("b1"))


def test_sizes_must_fit_together(store):
    with pytest.raises(ValueError, match="multiple of block size"):
        ChunkedBackup(store, ChunkSettings(10000, 4096, "zlib"))


@pytest.mark.parametrize("container", ["/etc", "../x", "a/../../b", "a//b", ".", "a\\b"])
def test_containers_stay_inside_the_repository(store, container):
    with pytest.raises(BadRequest):
        backups.check_container(container)
    with pytest.raises(BackupStoreError):
        store.put_container(container)


def test_restore_order():
    assert backups.restore_order("c", {"c": "b", "b": "a", "a": None}) == ["a", "b", "c"]


def test_choose_parent_is_the_latest_available_one():
    t = dt.datetime(2026, 12, 6)
    items = [backups.Candidate("old", "available", t),
             backups.Candidate("new", "available", t + dt.timedelta(hours=1)),
             backups.Candidate("broken", "error", t + dt.timedelta(hours=2))]
    assert backups.choose_parent(items) == "new"
    assert backups.choose_parent(items, snapshot_created_at=t + dt.timedelta(minutes=1)) \
        == "old"
    with pytest.raises(BadRequest, match="No backups available to do an incremental"):
        backups.choose_parent([])


def test_rules_say_what_cinder_says():
    with pytest.raises(BadRequest, match="must use the force flag"):
        backups.check_source("in-use", force=False)
    backups.check_source("in-use", force=True)
    with pytest.raises(BadRequest, match='current status is "error"'):
        backups.check_source("error", force=True)
    with pytest.raises(BadRequest, match="Incremental backups exist for this backup."):
        backups.check_deletable("available", 1)
    with pytest.raises(BadRequest, match="Backup status must be available or error"):
        backups.check_deletable("creating", 0)
    with pytest.raises(BadRequest, match="is too small to restore backup of size 2"):
        backups.check_restorable("available", 2, "available", 1)
    with pytest.raises(BadRequest, match="Volume to be restored to must be available"):
        backups.check_restorable("available", 1, "in-use", 1)
