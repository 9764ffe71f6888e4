"""Volume backups over HTTP, as Cinder's backup API and posix driver: the
answers' shapes, the statuses the volume and the backup go through, the
files in the repository (Cinder's chunked layout), incremental backups and
their restore, the refusals with Cinder's words, quotas, and a volumed
killed in the middle of a backup."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
import uuid

import pytest

from shared.units import GiB, MiB
from tests.support.volumes import (
    VolumeApi,
    connector,
    new_project_user,
    read,
    unique,
    write,
)


@pytest.fixture(scope="module")
def demo(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


def backup_dir(stack):
    return stack.state_dir / "lib" / "backup"


def start_backup(api: VolumeApi, volume_id: str, expect=202, **fields):
    body = {"backup": {"volume_id": volume_id, "name": fields.pop("name", unique("bak")),
                       **fields}}
    return api.call("POST", "/backups", json=body, expect=expect)


def show_backup(api: VolumeApi, backup_id: str) -> dict:
    return api.call("GET", f"/backups/{backup_id}", expect=200).json()["backup"]


def wait_backup(api: VolumeApi, backup_id: str, status: str = "available",
                timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        backup = show_backup(api, backup_id)
        if backup["status"] == status:
            return backup
        assert backup["status"] != "error" or status == "error", backup
        assert time.monotonic() < deadline, f"backup stuck in {backup['status']}"
        time.sleep(0.3)


def backup_of(api: VolumeApi, volume_id: str, **fields) -> dict:
    made = start_backup(api, volume_id, **fields).json()["backup"]
    return wait_backup(api, made["id"])


def delete_backup(api: VolumeApi, backup_id: str) -> None:
    api.call("DELETE", f"/backups/{backup_id}", expect=202)
    deadline = time.monotonic() + 60
    while api.call("GET", f"/backups/{backup_id}").status_code != 404:
        assert time.monotonic() < deadline, "backup was not deleted"
        time.sleep(0.3)


def test_backup_and_restore_into_a_new_volume(stack, demo):
    volume = demo.create(size=1)
    write(stack, volume["id"], 7 * MiB, b"backed up data")
    response = start_backup(demo, volume["id"], name="first", description="d1")
    made = response.json()["backup"]
    assert set(made) == {"id", "links", "name"} and made["name"] == "first"
    assert made["links"][0]["href"].endswith(f"/v3/{demo.project_id}/backups/{made['id']}")
    assert demo.show(volume["id"])["status"] in ("backing-up", "available")
    backup = wait_backup(demo, made["id"])
    assert demo.wait(volume["id"], "available")
    assert backup["size"] == 1 and backup["volume_id"] == volume["id"]
    assert backup["description"] == "d1" and backup["fail_reason"] is None
    assert backup["is_incremental"] is False and backup["has_dependent_backups"] is False
    assert backup["object_count"] == 1 and backup["snapshot_id"] is None
    assert backup["container"] == f"{made['id'][:2]}/{made['id'][2:4]}/{made['id']}"
    assert backup["data_timestamp"] == backup["created_at"]
    assert "metadata" in backup                       # microversion 3.44 >= 3.43
    assert "os-backup-project-attr:project_id" not in backup   # admins only

    # Cinder's posix layout: data objects, the sha256 file and the metadata.
    container = backup_dir(stack) / backup["container"]
    names = sorted(p.name for p in container.iterdir())
    assert len(names) == 3, names
    prefix = f"volume_{volume['id']}_"
    assert names[0].startswith(prefix) and names[0].endswith(f"_backup_{made['id']}-00001")
    assert names[1].endswith("_metadata") and names[2].endswith("_sha256file")
    metadata = json.loads((container / names[1]).read_text())
    assert metadata["backup_id"] == made["id"] and metadata["version"] == "1.0.0"
    assert metadata["objects"][0][names[0]]["length"] == GiB
    assert oct(container.stat().st_mode & 0o777) == "0o700"

    restore = demo.call("POST", f"/backups/{made['id']}/restore",
                        json={"restore": {"name": "restored"}}, expect=202).json()
    assert set(restore) == {"restore"}
    assert restore["restore"]["backup_id"] == made["id"]
    assert restore["restore"]["volume_name"] == "restored"
    new_id = restore["restore"]["volume_id"]
    restored = demo.wait(new_id, "available")
    assert restored["size"] == 1 and restored["name"] == "restored"
    assert restored["description"] == "auto-created_from_restore_from_backup"
    assert restored["metadata"] == {"src_backup_id": made["id"]}
    assert read(stack, new_id, 7 * MiB, 14) == b"backed up data"
    assert wait_backup(demo, made["id"])["status"] == "available"

    # Without a name, Cinder names the new volume after the backup.
    unnamed = demo.call("POST", f"/backups/{made['id']}/restore", json={"restore": None},
                        expect=202).json()["restore"]
    assert unnamed["volume_name"] == f"restore_backup_{made['id']}"
    demo.wait(unnamed["volume_id"], "available")

    events = [e["event_type"] for e in demo.events(resource_id=made["id"])]
    for expected in ("backup.create.start", "backup.createprogress", "backup.create.end",
                     "backup.restore.start", "backup.restore.end"):
        assert expected in events, events

    summary = demo.call("GET", "/backups", expect=200).json()["backups"]
    assert {"id": made["id"], "name": "first", "links": made["links"]} in summary
    for volume_id in (volume["id"], new_id, unnamed["volume_id"]):
        demo.delete(volume_id)      # a volume goes, its backups stay
    delete_backup(demo, made["id"])
    assert not (backup_dir(stack) / backup["container"]).exists()


def test_an_in_use_volume_needs_force(stack, demo):
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector("bak"))
    demo.complete(attachment["id"])
    refused = start_backup(demo, volume["id"], expect=400).json()
    assert refused["badRequest"]["message"] == \
        "Invalid volume: Backing up an in-use volume must use the force flag."
    backup = backup_of(demo, volume["id"], force=True)
    assert demo.wait(volume["id"], "in-use")["attachments"]
    # Restoring into an in-use volume is refused.
    refused = demo.call("POST", f"/backups/{backup['id']}/restore",
                        json={"restore": {"volume_id": volume["id"]}}, expect=400).json()
    assert refused["badRequest"]["message"] == \
        "Invalid volume: Volume to be restored to must be available"
    demo.detach(attachment["id"])
    delete_backup(demo, backup["id"])
    demo.delete(volume["id"])


def test_incremental_backups_and_their_restore(stack, demo):
    volume = demo.create(size=1)
    refused = start_backup(demo, volume["id"], incremental=True, expect=400).json()
    assert refused["badRequest"]["message"] == \
        "Invalid backup: No backups available to do an incremental backup."
    write(stack, volume["id"], 0, b"A" * MiB)
    write(stack, volume["id"], 300 * MiB, b"B" * MiB)
    full = backup_of(demo, volume["id"])
    write(stack, volume["id"], 300 * MiB, b"C" * 100)
    write(stack, volume["id"], 900 * MiB, b"D" * 100)
    incremental = backup_of(demo, volume["id"], incremental=True)
    assert incremental["is_incremental"] is True
    assert incremental["object_count"] == 2          # only the two changed blocks
    assert show_backup(demo, full["id"])["has_dependent_backups"] is True
    refused = demo.call("DELETE", f"/backups/{full['id']}", expect=400).json()
    assert refused["badRequest"]["message"] == \
        "Invalid backup: Incremental backups exist for this backup."

    # Into an existing, bigger volume holding other data: the chain is laid down.
    target = demo.create(size=2)
    write(stack, target["id"], 0, b"old" * 1000)
    too_small = demo.create(size=1)
    answer = demo.call("POST", f"/backups/{incremental['id']}/restore",
                       json={"restore": {"volume_id": target["id"]}}, expect=202).json()
    assert answer["restore"]["volume_id"] == target["id"]
    assert demo.show(target["id"])["status"] in ("restoring-backup", "available")
    demo.wait(target["id"], "available")
    assert read(stack, target["id"], 0, 3000) == b"A" * 3000
    assert read(stack, target["id"], 300 * MiB, 101) == b"C" * 100 + b"B"
    assert read(stack, target["id"], 900 * MiB, 100) == b"D" * 100
    assert demo.show(target["id"])["size"] == 2

    big = backup_of(demo, target["id"])
    refused = demo.call("POST", f"/backups/{big['id']}/restore",
                        json={"restore": {"volume_id": too_small["id"]}}, expect=400).json()
    assert refused["badRequest"]["message"] == \
        "Invalid volume: volume size 1 is too small to restore backup of size 2."

    # The newest backup is the parent of the next incremental one.
    again = backup_of(demo, volume["id"], incremental=True)
    listed = demo.call("GET", "/backups/detail", params={"volume_id": volume["id"]},
                       expect=200).json()["backups"]
    assert {b["id"] for b in listed} == {full["id"], incremental["id"], again["id"]}
    for backup_id in (again["id"], incremental["id"], full["id"], big["id"]):
        delete_backup(demo, backup_id)
    for volume_id in (volume["id"], target["id"], too_small["id"]):
        demo.delete(volume_id)


def test_bad_requests_are_refused_and_record_nothing(stack, demo):
    volume = demo.create()
    before = demo.call("GET", "/backups", expect=200).json()["backups"]
    cases = [
        ({"backup": {"volume_id": volume["id"], "colour": "red"}}, 400, "colour"),
        ({"backup": {"volume_id": "not-a-uuid"}}, 400, "is not a 'uuid'"),
        ({"backup": {"name": "no volume"}}, 400, "'volume_id' is a required property"),
        ({"backup": {"volume_id": volume["id"], "force": "maybe"}}, 400, "force"),
        ({"backup": {"volume_id": volume["id"], "container": "../../etc"}}, 400,
         "relative name"),
        ({"backup": {"volume_id": str(uuid.uuid4())}}, 404, "could not be found"),
        ({"nothing": {}}, 400, "backup"),
    ]
    for body, status, words in cases:
        response = demo.call("POST", "/backups", json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.text, (body, response.text)
    # metadata exists from 3.43 on.
    response = demo.call("POST", "/backups", version="volume 3.42", json={"backup": {
        "volume_id": volume["id"], "metadata": {"k": "v"}}})
    assert response.status_code == 400 and "metadata" in response.text
    assert demo.call("GET", "/backups", expect=200).json()["backups"] == before
    assert demo.show(volume["id"])["status"] == "available"

    # A container of the user's choice is a directory in the repository.
    backup = backup_of(demo, volume["id"], container="nightly/db",
                       metadata={"kind": "nightly"})
    assert backup["container"] == "nightly/db" and backup["metadata"] == {"kind": "nightly"}
    assert any((backup_dir(stack) / "nightly" / "db").iterdir())

    # Filters: the three Cinder gives users; another one is 400 from 3.33 on.
    by_name = demo.call("GET", "/backups", params={"name": backup["name"]},
                        expect=200).json()["backups"]
    assert [b["id"] for b in by_name] == [backup["id"]]
    assert demo.call("GET", "/backups/detail", params={"status": "error"},
                     expect=200).json()["backups"] == []
    refused = demo.call("GET", "/backups", params={"size": "1"}, expect=400)
    assert "Invalid filters size are found in query options." in refused.text
    assert demo.call("GET", "/backups", params={"size": "1", "all_tenants": "0"},
                     version="volume 3.32", expect=200).json()["backups"]
    # 3.9: rename; before it the route does not exist.
    demo.call("PUT", f"/backups/{backup['id']}", version="volume 3.8",
              json={"backup": {"name": "x"}}, expect=404)
    renamed = demo.call("PUT", f"/backups/{backup['id']}",
                        json={"backup": {"name": "renamed"}}, expect=200).json()
    assert renamed["backup"]["name"] == "renamed"
    # Shapes by microversion: no metadata before 3.43; the project for admins.
    old = demo.call("GET", f"/backups/{backup['id']}", version="volume 3.0",
                    expect=200).json()["backup"]
    assert "metadata" not in old
    admin = VolumeApi(stack, "admin")
    seen = admin.call("GET", "/backups/detail", params={"all_tenants": "1"},
                      expect=200).json()["backups"]
    mine = [b for b in seen if b["id"] == backup["id"]]
    assert mine[0]["os-backup-project-attr:project_id"] == demo.project_id
    # Another project cannot see it.
    admin.call("GET", f"/backups/{backup['id']}", expect=200)
    project, user, password = new_project_user(stack)
    other = VolumeApi(stack, user, project, password)
    other.call("GET", f"/backups/{backup['id']}", expect=404)
    other.call("DELETE", f"/backups/{backup['id']}", expect=404)
    # A user may not reset a status; an admin may.
    demo.call("POST", f"/backups/{backup['id']}/action",
              json={"os-reset_status": {"status": "error"}}, expect=403)
    admin.call("POST", f"/backups/{backup['id']}/action",
               json={"os-reset_status": {"status": "error"}}, expect=202)
    assert show_backup(demo, backup["id"])["status"] == "error"
    delete_backup(demo, backup["id"])
    assert not (backup_dir(stack) / "nightly").exists()
    demo.delete(volume["id"])


def test_backup_quotas(stack):
    project, user, password = new_project_user(stack)
    fresh = VolumeApi(stack, user, project, password)
    admin = VolumeApi(stack, "admin")
    defaults = admin.call("GET", f"/os-quota-sets/{fresh.project_id}/defaults",
                          expect=200).json()["quota_set"]
    assert defaults["backups"] == 10 and defaults["backup_gigabytes"] == 1000
    admin.call("PUT", f"/os-quota-sets/{fresh.project_id}",
               json={"quota_set": {"backups": 1, "backup_gigabytes": 3}}, expect=200)
    small, big = fresh.create(size=1), fresh.create(size=4)
    refused = start_backup(fresh, big["id"], expect=413).json()
    assert refused["overLimit"]["message"].endswith(
        "Requested backup exceeds allowed Backup gigabytes quota. Requested 4G, quota is "
        "3G and 0G has been consumed.")
    backup = backup_of(fresh, small["id"])
    refused = start_backup(fresh, small["id"], expect=413).json()
    assert refused["overLimit"]["message"].endswith(
        "Maximum number of backups allowed (1) exceeded")
    usage = fresh.call("GET", f"/os-quota-sets/{fresh.project_id}", params={"usage": "True"},
                       expect=200).json()["quota_set"]
    assert usage["backups"]["in_use"] == 1 and usage["backup_gigabytes"]["in_use"] == 1
    limits = fresh.call("GET", "/limits", expect=200).json()["limits"]["absolute"]
    assert limits["maxTotalBackups"] == 1 and limits["totalBackupsUsed"] == 1
    assert limits["maxTotalBackupGigabytes"] == 3 and limits["totalBackupGigabytesUsed"] == 1
    # A restore into a new volume needs room for the volume too.
    admin.call("PUT", f"/os-quota-sets/{fresh.project_id}",
               json={"quota_set": {"volumes": 2}}, expect=200)
    refused = fresh.call("POST", f"/backups/{backup['id']}/restore",
                         json={"restore": {"name": "no room"}}, expect=413)
    assert "VolumeLimitExceeded" in refused.text
    delete_backup(fresh, backup["id"])
    for volume_id in (small["id"], big["id"]):
        fresh.delete(volume_id)


# --- restart safety ------------------------------------------------------------------
def kill_volumed(stack) -> None:
    """SIGKILL volumed's main process and its workers: no clean-up runs."""
    master = int((stack.state_dir / "run" / "volumed.pid").read_text().split()[0])
    children = [int(pid) for pid in os.popen(f"pgrep -P {master}").read().split()]
    for pid in [master, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", stack.port("volumed"))) != 0:
                return
        time.sleep(0.2)
    raise AssertionError("volumed's port stayed busy")


def test_a_backup_cut_short_by_kill_9_becomes_error(stack, demo):
    """Cinder's backup manager at start: creating -> error, the volume back
    to its status; here the partial objects are removed too."""
    volume = demo.create(size=30)        # sparse: big enough to take a while
    made = start_backup(demo, volume["id"]).json()["backup"]
    deadline = time.monotonic() + 60
    while not any(p.is_file() for p in backup_dir(stack).rglob(f"*{made['id']}*")):
        assert time.monotonic() < deadline, "the backup wrote nothing"
        time.sleep(0.1)
    assert show_backup(demo, made["id"])["status"] == "creating"
    assert demo.show(volume["id"])["status"] == "backing-up"
    kill_volumed(stack)
    assert stack.up().returncode == 0
    backup = show_backup(demo, made["id"])
    assert backup["status"] == "error"
    assert backup["fail_reason"] == "incomplete backup reset on manager restart"
    assert demo.show(volume["id"])["status"] == "available"
    assert [p for p in backup_dir(stack).rglob("*") if made["id"] in p.name and
            p.is_file()] == []
    delete_backup(demo, made["id"])
    demo.delete(volume["id"])
