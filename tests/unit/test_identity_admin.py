"""identity.admin without HTTP: a real SQLite database seeded the way
`pocketstack up` seeds it (admin implies member implies reader)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from identity import store
from identity.admin import AssignmentQuery, IdentityAdmin
from identity.bootstrap import SERVICE_USERS, Credentials, seed_identity
from identity.models import Revocation
from shared.context import RequestContext
from shared.db import make_engine, session_factory, transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.events import Event, Notifier


@pytest.fixture
def admin(tmp_path) -> IdentityAdmin:
    url = f"sqlite:///{tmp_path / 'identity.sqlite'}"
    users = ["admin", "demo", *SERVICE_USERS]
    seed_identity(url, Credentials({user: f"{user}-secret" for user in users}), rounds=4)
    engine = make_engine(url)
    sessions = session_factory(engine)
    yield IdentityAdmin(sessions, Notifier("identity", sessions), password_hash_rounds=4,
                        token_lifetime=3600)
    engine.dispose()


def as_user(admin: IdentityAdmin, name: str) -> RequestContext:
    user = admin.get_user(name)
    return RequestContext(request_id="req-test", user_id=user.id, user_name=user.name,
                          project_id=user.default_project_id, roles=["admin"])


def role_ids(admin: IdentityAdmin) -> dict[str, str]:
    return {role.name: role.id for role in admin.list_roles()}


def test_direct_assignments_are_what_was_granted(admin):
    demo = admin.get_user("demo")
    listed = admin.role_assignments(AssignmentQuery(user_id=demo.id))
    assert [(a.project_id, a.role_id) for a in listed] == \
        [(demo.default_project_id, role_ids(admin)["member"])]
    assert listed[0].names is False and listed[0].user_name is None


def test_effective_assignments_add_the_implied_roles_once_each(admin):
    user = admin.get_user("admin")
    roles = role_ids(admin)
    listed = admin.role_assignments(AssignmentQuery(user_id=user.id, effective=True))
    assert sorted(a.role_id for a in listed) == sorted(
        [roles["admin"], roles["member"], roles["reader"]])
    assert len({(a.user_id, a.project_id, a.role_id) for a in listed}) == len(listed)
    only_reader = admin.role_assignments(AssignmentQuery(user_id=user.id, effective=True,
                                                         role_id=roles["reader"]))
    assert [a.role_id for a in only_reader] == [roles["reader"]]
    # Without effective, the role filter finds only what was granted.
    assert admin.role_assignments(AssignmentQuery(user_id=user.id,
                                                  role_id=roles["reader"])) == []


def test_include_names_names_user_project_and_role(admin):
    demo = admin.get_user("demo")
    (listed,) = admin.role_assignments(AssignmentQuery(user_id=demo.id, include_names=True))
    assert (listed.names, listed.user_name, listed.project_name, listed.role_name) == \
        (True, "demo", "demo", "member")


def test_project_filter_and_grant_and_revoke(admin):
    ctx = as_user(admin, "admin")
    project = admin.create_project(ctx, {"name": "lab", "description": "a lab"})
    admin.grant(ctx, "lab", "demo", "reader")
    admin.check_grant(project.id, "demo", "reader")
    listed = admin.role_assignments(AssignmentQuery(project_id=project.id))
    assert [(a.user_id, a.role_id) for a in listed] == \
        [(admin.get_user("demo").id, role_ids(admin)["reader"])]
    assert [p.name for p in admin.projects_of_user(admin.get_user("demo").id)] == \
        ["demo", "lab"]
    admin.revoke_grant(ctx, "lab", "demo", "reader")
    with pytest.raises(NotFound):
        admin.check_grant("lab", "demo", "reader")
    with pytest.raises(NotFound):
        admin.revoke_grant(ctx, "lab", "demo", "reader")


def test_names_are_unique_and_changes_are_events(admin):
    ctx = as_user(admin, "admin")
    created = admin.create_project(ctx, {"name": "twice"})
    with pytest.raises(Conflict):
        admin.create_project(ctx, {"name": "twice"})
    with transaction(admin.sessions, write=False) as session:
        events = [e.event_type for e in session.scalars(
            select(Event).where(Event.resource_id == created.id))]
    assert events == ["identity.project.created"]


def test_a_new_password_and_a_disabled_project_end_their_tokens(admin):
    ctx = as_user(admin, "admin")
    demo = admin.get_user("demo")
    admin.update_user(ctx, "demo", {"password": "new-secret"})
    admin.update_project(ctx, "demo", {"enabled": False})
    with transaction(admin.sessions, write=False) as session:
        revoked = [(r.user_id, r.project_id) for r in session.scalars(select(Revocation))]
        assert store.password_matches(session.get_one(type(demo), demo.id), "new-secret")
    assert (demo.id, None) in revoked and (None, demo.default_project_id) in revoked
    assert admin.get_project("demo").enabled is False


def test_enabled_must_be_a_boolean(admin):
    ctx = as_user(admin, "admin")
    with pytest.raises(BadRequest, match="enabled"):
        admin.create_project(ctx, {"name": "maybe", "enabled": "maybe"})
    assert admin.create_project(ctx, {"name": "off", "enabled": "false"}).enabled is False


def test_nobody_deletes_themselves_nor_a_default_role(admin):
    ctx = as_user(admin, "admin")
    with pytest.raises(Forbidden):
        admin.delete_user(ctx, "admin")
    with pytest.raises(Forbidden):
        admin.delete_role(ctx, "reader")
    admin.delete_user(ctx, "demo")
    with pytest.raises(NotFound):
        admin.get_user("demo")


def test_new_resources_need_a_name_in_the_one_domain(admin):
    ctx = as_user(admin, "admin")
    with pytest.raises(BadRequest, match="role.name"):
        admin.create_role(ctx, {"name": ""})
    with pytest.raises(BadRequest, match="one domain"):
        admin.create_user(ctx, {"name": "x", "domain_id": "other"})
    with pytest.raises(BadRequest, match="default_project_id"):
        admin.create_user(ctx, {"name": "x", "default_project_id": "nope"})
