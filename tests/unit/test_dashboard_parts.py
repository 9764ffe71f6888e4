"""The dashboard's parts that need no stack: the image status diagram, the
disks of a server as the guest sees them, the host's resources, and the
session store (ids, CSRF tokens, the end of a session revokes its token).
The pages themselves are tested in a real browser (tests/dashboard/)."""
from __future__ import annotations

import time

from dashboard import imageflow, serverview
from dashboard.cloud import Login
from dashboard.sessions import SessionStore


def a_login(expires_in: float = 3600) -> Login:
    return Login(token="secret-token", user_name="demo", user_id="u1", project_name="demo",
                 project_id="p1", roles=["member"], expires_at=time.time() + expires_in)


def test_the_image_flow_draws_every_glance_status_once_and_lights_one():
    names = [state.name for state in imageflow.STATES]
    assert sorted(names) == sorted({"queued", "saving", "active", "killed", "deactivated",
                                    "deleted", "pending_delete", "importing", "uploading"})
    for move in imageflow.MOVES:
        assert move.source in names and move.target in names, move
    drawn = imageflow.diagram("saving")
    assert drawn["current"] == "saving"
    assert len(drawn["arrows"]) == len(imageflow.MOVES)
    for state in imageflow.STATES:  # every box inside the picture
        assert state.x >= 0 and state.x + imageflow.BOX_WIDTH <= drawn["width"]
        assert state.y >= 0 and state.y + imageflow.BOX_HEIGHT <= drawn["height"]


def test_the_disks_are_vda_vdb_then_the_volumes_in_device_order():
    server = {"image": {"id": "img-1"}}
    flavor = {"disk": 1, "OS-FLV-EXT-DATA:ephemeral": 2}
    attachments = [{"device": "/dev/vdd", "volumeId": "v2"},
                   {"device": "/dev/vdc", "volumeId": "v1"}]
    disks = serverview.disks(server, flavor, attachments, [{"id": "v1", "size": 3}])
    assert [(d.device, d.size) for d in disks] == \
        [("vda", "1 GB"), ("vdb", "2 GB"), ("vdc", "3 GB"), ("vdd", "")]


def test_a_server_booted_from_a_volume_has_no_image_disk_and_no_ephemeral():
    disks = serverview.disks({"image": ""}, {"disk": 0, "OS-FLV-EXT-DATA:ephemeral": 0},
                             [{"device": "/dev/vda", "volumeId": "v1"}], [])
    assert [d.device for d in disks] == ["vda"]
    assert disks[0].kind == "volume (iSCSI)"


def test_the_hosts_resources_add_up_every_hypervisor():
    resources = serverview.host_resources([
        {"vcpus": 2, "vcpus_used": 1, "memory_mb": 1000, "memory_mb_used": 128,
         "local_gb": 50, "local_gb_used": 2},
        {"vcpus": 2, "vcpus_used": 0, "memory_mb": 1000, "memory_mb_used": 0,
         "local_gb": 50, "local_gb_used": 0}])
    assert [(r.name, r.used, r.total) for r in resources] == \
        [("vCPU", 1, 4), ("RAM", 128, 2000), ("disk", 2, 100)]
    assert resources[0].percent == 25
    saved = serverview.resources_as_dict(resources)
    assert serverview.resources_from_dict(saved) == resources


def test_logging_in_replaces_the_session_and_logging_out_revokes_the_token():
    revoked: list[Login] = []
    store = SessionStore(idle_timeout=60, on_end=revoked.append)
    visitor = store.anonymous()
    login = a_login()
    session = store.log_in(visitor, login)
    assert session.id != visitor.id and session.csrf_token != visitor.csrf_token
    assert store.get(visitor.id) is None, "the id known before the login is dropped"
    assert store.get(session.id) is session
    store.end(session)
    assert revoked == [login]
    assert store.get(session.id) is None


def test_an_idle_or_expired_session_ends_and_its_token_is_revoked():
    revoked: list[Login] = []
    store = SessionStore(idle_timeout=60, on_end=revoked.append)
    idle = store.log_in(None, a_login())
    idle.last_used -= 61
    expired = store.log_in(None, a_login(expires_in=-1))
    assert store.get(idle.id) is None and store.get(expired.id) is None
    assert len(revoked) == 2


def test_only_the_sessions_own_csrf_token_matches():
    store = SessionStore(idle_timeout=60, on_end=lambda login: None)
    one, other = store.anonymous(), store.anonymous()
    assert one.csrf_matches(one.csrf_token)
    assert not one.csrf_matches(other.csrf_token)
    assert not one.csrf_matches(None) and not one.csrf_matches("")
