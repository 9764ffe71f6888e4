"""The file backend keeps its promises: a failed operation leaves no volume
and never touches an existing one; files are sparse and root-only."""
from __future__ import annotations

import pytest

from shared.units import GiB, KiB, MiB
from volumed.backend.base import BackendError
from volumed.backend.file import FileBackend


@pytest.fixture
def backend(tmp_path) -> FileBackend:
    return FileBackend(tmp_path / "volumes")


def test_create_is_sparse_and_private(backend):
    backend.create("v1", 2)
    path = backend.device_path("v1")
    assert path.stat().st_size == 2 * GiB
    assert path.stat().st_blocks == 0
    assert path.stat().st_mode & 0o777 == 0o600
    assert backend.directory.stat().st_mode & 0o777 == 0o700


def test_create_never_overwrites(backend):
    backend.create("v1", 1)
    backend.device_path("v1").write_bytes(b"precious")
    with pytest.raises(BackendError, match="refusing to overwrite"):
        backend.create("v1", 1)
    with pytest.raises(BackendError, match="refusing to overwrite"):
        backend.clone("v1", "v1", 1)
    assert backend.device_path("v1").read_bytes() == b"precious"


def test_a_failed_fill_leaves_nothing(backend):
    def fail(path):
        path.write_bytes(b"half")
        raise RuntimeError("convert failed")
    with pytest.raises(RuntimeError):
        backend.create("v2", 1, fill=fail)
    assert not backend.exists("v2")
    assert list(backend.directory.iterdir()) == []


def test_extend_grows_and_keeps_data_but_never_shrinks(backend):
    backend.create("v1", 1)
    with open(backend.device_path("v1"), "r+b") as handle:
        handle.write(b"data")
    backend.extend("v1", 3)
    assert backend.size_bytes("v1") == 3 * GiB
    with open(backend.device_path("v1"), "rb") as handle:
        assert handle.read(4) == b"data"
    with pytest.raises(BackendError, match="refusing to shrink"):
        backend.extend("v1", 1)
    assert backend.size_bytes("v1") == 3 * GiB


def test_snapshot_clone_and_restore_copy_data_and_grow(backend):
    backend.create("v1", 1)
    with open(backend.device_path("v1"), "r+b") as handle:
        handle.seek(1000)
        handle.write(b"snap")
    backend.create_snapshot("v1", "s1")
    backend.create_from_snapshot("s1", "v2", 2)
    backend.clone("v1", "v3", 1)
    for volume, size in (("v2", 2), ("v3", 1)):
        assert backend.size_bytes(volume) == size * GiB
        with open(backend.device_path(volume), "rb") as handle:
            handle.seek(1000)
            assert handle.read(4) == b"snap"
    backend.delete_snapshot("s1")
    assert not backend.snapshot_exists("s1")


def test_leftovers_are_temporary_files_only(backend):
    backend.create("v1", 1)
    scratch = backend.scratch_path("image-v9")
    scratch.write_bytes(b"partial download")
    assert backend.remove_leftovers() == [scratch.name]
    assert backend.exists("v1")


def test_sparse_writer_keeps_zero_blocks_as_holes_and_stops_at_the_size(tmp_path):
    from volumed.flows.create import SparseWriter
    from volumed.qemu import ImageFormatError
    path = tmp_path / "volume"
    with open(path, "wb") as handle:
        handle.truncate(8 * MiB)
    with open(path, "r+b") as handle:
        writer = SparseWriter(handle, 8 * MiB)
        writer.write(b"\0" * 4 * MiB)
        writer.write(b"\1" * MiB)
        with pytest.raises(ImageFormatError, match="larger than the volume"):
            writer.write(b"\2" * 4 * MiB)
    with open(path, "rb") as handle:
        handle.seek(4 * MiB)
        assert handle.read(MiB) == b"\1" * MiB
    assert path.stat().st_blocks * 512 <= MiB + 64 * KiB


def test_revert_to_snapshot_brings_back_the_snapshots_data_at_the_volumes_size(backend):
    backend.create("v1", 1)
    with open(backend.device_path("v1"), "r+b") as handle:
        handle.write(b"old!")
    backend.create_snapshot("v1", "s1")
    with open(backend.device_path("v1"), "r+b") as handle:
        handle.write(b"new!")
        handle.seek(5000)
        handle.write(b"later")
    backend.revert_to_snapshot("v1", "s1")
    assert backend.size_bytes("v1") == 1 * GiB
    with open(backend.device_path("v1"), "rb") as handle:
        assert handle.read(4) == b"old!"
        handle.seek(5000)
        assert handle.read(5) == b"\0" * 5
    assert backend.snapshot_exists("s1")
    assert [p.name for p in backend.directory.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_failed_revert_leaves_the_volume_whole(backend):
    backend.create("v1", 1)
    with open(backend.device_path("v1"), "r+b") as handle:
        handle.write(b"keep")
    with pytest.raises(BackendError, match="does not exist"):
        backend.revert_to_snapshot("v1", "missing")
    with open(backend.device_path("v1"), "rb") as handle:
        assert handle.read(4) == b"keep"
