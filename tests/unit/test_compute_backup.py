"""createBackup's rotation, as Nova's _rotate_backups: the server's backups
of one type, newest first, all but the first `rotation` deleted (0 keeps
none); a backup that cannot be deleted does not stop the others. The real
client's run is tests/compat/test_server_backup_client.py."""
from __future__ import annotations

from computed.flows import backup
from shared.clients import RemoteError
from tests.unit.compute_fakes import FakeDriver, make_deps


class Images:
    """imaged's listing and delete, newest first as asked."""

    def __init__(self, ids: list[str], failing: tuple[str, ...] = ()):
        self.ids, self.failing = ids, failing
        self.asked: dict = {}
        self.deleted: list[str] = []

    def find(self, caller, **filters) -> list[dict]:
        self.asked = filters
        return [{"id": image_id} for image_id in self.ids]

    def delete(self, caller, image_id: str) -> None:
        if image_id in self.failing:
            raise RemoteError("imaged", 409, "protected")
        self.deleted.append(image_id)


def rotate(tmp_path, ids, rotation, failing=()):
    deps = make_deps(tmp_path, FakeDriver())
    deps.images = Images(ids, failing)  # type: ignore[assignment]
    return backup.rotate(deps, None, "s1", "daily", rotation), deps.images


def test_the_oldest_beyond_the_rotation_go(tmp_path):
    deleted, images = rotate(tmp_path, ["new", "mid", "old", "older"], 2)
    assert deleted == ["old", "older"]
    assert images.asked == {"image_type": "backup", "backup_type": "daily",  # type: ignore[attr-defined]
                            "instance_uuid": "s1", "sort_key": "created_at",
                            "sort_dir": "desc"}


def test_rotation_zero_keeps_none_and_fewer_than_the_rotation_keeps_all(tmp_path):
    assert rotate(tmp_path, ["new", "old"], 0)[0] == ["new", "old"]
    assert rotate(tmp_path, ["new"], 3)[0] == []


def test_a_backup_that_cannot_be_deleted_does_not_stop_the_rotation(tmp_path):
    assert rotate(tmp_path, ["a", "b", "c", "d"], 1, failing=("b",))[0] == ["c", "d"]
