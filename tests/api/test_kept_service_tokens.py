"""A service session that keeps its token (shared.clients.session) against
the stack's real identity: the next session starts with the kept token
instead of a login, the file is readable by root only, and a token
identity no longer validates (revoked) is replaced by a new login."""
from __future__ import annotations

import stat

import requests

from shared.clients import ServiceSession


def admin_session(stack, directory) -> ServiceSession:
    return ServiceSession(stack.url("identity"), "admin", stack.password("admin"), "admin",
                          directory)


def test_a_kept_token_is_used_again_and_a_revoked_one_replaced(stack, tmp_path):
    first = admin_session(stack, tmp_path).token()
    kept = tmp_path / "admin@admin.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600

    again = admin_session(stack, tmp_path)
    assert again.token() == first  # no login: a login's token would differ
    assert again.project_id() == stack.login("admin").json()["token"]["project"]["id"]

    revoked = requests.delete(stack.url("identity") + "/v3/auth/tokens",
                              headers={"X-Auth-Token": first, "X-Subject-Token": first})
    assert revoked.status_code == 204
    replaced = admin_session(stack, tmp_path).token()
    assert replaced != first
    assert first not in kept.read_text() and replaced in kept.read_text()
    check = requests.get(stack.url("identity") + "/v3/auth/tokens",
                         headers={"X-Auth-Token": replaced, "X-Subject-Token": replaced})
    assert check.status_code == 200


def test_without_a_directory_nothing_is_kept(stack, tmp_path):
    one = ServiceSession(stack.url("identity"), "admin", stack.password("admin"), "admin")
    two = ServiceSession(stack.url("identity"), "admin", stack.password("admin"), "admin")
    assert one.token() != two.token()
    assert not list(tmp_path.iterdir())
