"""identity.appcreds and identity.ec2 without HTTP: a real SQLite database
seeded the way `pocketstack up` seeds it, and the callers' tokens as
identity would have signed them."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from identity import appcreds, store
from identity.admin import IdentityAdmin
from identity.appcreds import ApplicationCredentials
from identity.bootstrap import SERVICE_USERS, Credentials, seed_identity
from identity.ec2 import Ec2Credentials, credential_id
from identity.models import ApplicationCredential, Credential
from shared.context import RequestContext
from shared.db import make_engine, session_factory, transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from shared.events import Notifier
from shared.revocation import RevocationEvent
from shared.tokens import TokenData


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'identity.sqlite'}"
    users = ["admin", "demo", *SERVICE_USERS]
    seed_identity(url, Credentials({user: f"{user}-secret" for user in users}), rounds=4)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def admin(sessions) -> IdentityAdmin:
    return IdentityAdmin(sessions, Notifier("identity", sessions), password_hash_rounds=4,
                         token_lifetime=3600)


@pytest.fixture
def creds(sessions) -> ApplicationCredentials:
    return ApplicationCredentials(sessions, Notifier("identity", sessions),
                                  password_hash_rounds=4, token_lifetime=3600)


def token_of(admin: IdentityAdmin, name: str, credential_id: str | None = None) -> TokenData:
    user = admin.get_user(name)
    roles = {"admin": ["admin", "member", "reader"], "demo": ["member", "reader"]}[name]
    return TokenData(user_id=user.id, user_name=name, project_id=user.default_project_id or "",
                     project_name=name, roles=roles, expires_at=time.time() + 3600,
                     application_credential_id=credential_id)


def ctx_of(token: TokenData) -> RequestContext:
    return RequestContext(request_id="req-test", user_id=token.user_id,
                          project_id=token.project_id, roles=token.roles)


def login(sessions, spec: dict, scope=None) -> appcreds.Proof:
    with transaction(sessions) as session:
        return appcreds.authenticate(session, spec, scope)


def test_generated_secret_is_64_random_bytes_urlsafe():
    secret = appcreds.generate_secret()
    assert len(secret) == 86 and "=" not in secret
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert appcreds.generate_secret() != secret


def test_expiry_parses_iso_and_refuses_the_past_and_garbage():
    assert appcreds.parse_expiry(None) is None
    assert appcreds.parse_expiry("2099-01-01T00:00:00") == \
        appcreds.parse_expiry("2099-01-01T00:00:00Z") == 4070908800.0
    with pytest.raises(BadRequest, match="must not be before now"):
        appcreds.parse_expiry("2000-01-01T00:00:00")
    with pytest.raises(BadRequest, match="Timestamp not in expected format"):
        appcreds.parse_expiry("next tuesday")


def test_create_keeps_only_a_hash_and_logs_in_with_the_secret(creds, admin, sessions):
    demo = token_of(admin, "demo")
    made = creds.create(ctx_of(demo), demo, demo.user_id, {"name": "ci"})
    assert made.secret and [r.name for r in made.roles] == ["member", "reader"]
    with transaction(sessions, write=False) as session:
        row = session.get_one(ApplicationCredential, made.row.id)
        assert made.secret not in row.secret_hash
        assert store.password_matches_hash(row.secret_hash, made.secret)
    proof = login(sessions, {"id": made.row.id, "secret": made.secret})
    assert (proof.user.name, proof.project.name) == ("demo", "demo")
    assert [r.name for r in proof.roles] == ["member", "reader"]
    by_name = login(sessions, {"name": "ci", "secret": made.secret,
                               "user": {"name": "demo", "domain": {"name": "Default"}}})
    assert by_name.credential.id == made.row.id
    with pytest.raises(Unauthorized):
        login(sessions, {"id": made.row.id, "secret": "wrong"})
    with pytest.raises(Unauthorized, match="cannot request a scope"):
        login(sessions, {"id": made.row.id, "secret": made.secret},
              {"project": {"name": "admin"}})
    with pytest.raises(NotFound, match="Could not find Application Credential"):
        login(sessions, {"id": "nope", "secret": made.secret})
    with pytest.raises(Unauthorized, match="Could not find application credential"):
        login(sessions, {"name": "nope", "secret": made.secret, "user": {"id": demo.user_id}})


def test_roles_asked_for_bring_their_implied_roles_and_must_be_in_the_token(creds, admin):
    owner = token_of(admin, "admin")
    made = creds.create(ctx_of(owner), owner, owner.user_id,
                        {"name": "ro", "roles": [{"name": "member"}]})
    assert [r.name for r in made.roles] == ["member", "reader"]
    demo = token_of(admin, "demo")
    with pytest.raises(BadRequest, match="unassigned role"):
        creds.create(ctx_of(demo), demo, demo.user_id, {"name": "x", "roles": [{"name": "admin"}]})
    with pytest.raises(NotFound, match="Could not find role: nosuch"):
        creds.create(ctx_of(demo), demo, demo.user_id, {"name": "x", "roles": [{"name": "nosuch"}]})
    with pytest.raises(Conflict, match="Duplicate entry found with name ro"):
        creds.create(ctx_of(owner), owner, owner.user_id, {"name": "ro"})
    with pytest.raises(Forbidden, match="another user"):
        creds.create(ctx_of(owner), owner, demo.user_id, {"name": "theirs"})
    with pytest.raises(BadRequest, match="access rules"):
        creds.create(ctx_of(demo), demo, demo.user_id, {"name": "x", "access_rules": [
            {"service": "compute", "method": "GET", "path": "/v2.1/servers"}]})
    assert [c.row.name for c in creds.list_for_user(demo.user_id)] == []


def test_a_restricted_credential_manages_no_credentials(creds, admin, sessions):
    demo = token_of(admin, "demo")
    restricted = creds.create(ctx_of(demo), demo, demo.user_id, {"name": "r"})
    free = creds.create(ctx_of(demo), demo, demo.user_id, {"name": "u", "unrestricted": True})
    via_restricted = token_of(admin, "demo", restricted.row.id)
    with pytest.raises(Forbidden, match="not allowed for managing"):
        creds.create(ctx_of(via_restricted), via_restricted, demo.user_id, {"name": "more"})
    with pytest.raises(Forbidden):
        creds.delete(ctx_of(via_restricted), via_restricted, free.row.id)
    ec2 = Ec2Credentials(sessions, Notifier("identity", sessions))
    with pytest.raises(Forbidden):
        ec2.create(ctx_of(via_restricted), via_restricted, demo.user_id, demo.project_id)
    via_free = token_of(admin, "demo", free.row.id)
    creds.create(ctx_of(via_free), via_free, demo.user_id, {"name": "more"})
    creds.delete(ctx_of(via_free), via_free, restricted.row.id)
    assert [c.row.name for c in creds.list_for_user(demo.user_id)] == ["more", "u"]


def test_delete_revokes_the_tokens_made_with_it(creds, admin, sessions):
    demo = token_of(admin, "demo")
    made = creds.create(ctx_of(demo), demo, demo.user_id, {"name": "gone"})
    with_it = token_of(admin, "demo", made.row.id)
    creds.delete(ctx_of(demo), demo, made.row.id)
    with transaction(sessions) as session:
        events = store.revocation_events(session)
    assert any(event.revokes(with_it) for event in events)
    assert not any(event.revokes(demo) for event in events)
    with pytest.raises(NotFound):
        creds.get(made.row.id)


def test_the_token_gets_only_roles_still_held(creds, admin, sessions):
    owner = token_of(admin, "admin")
    ctx = ctx_of(owner)
    admin.grant(ctx, "demo", "demo", "reader")
    demo = token_of(admin, "demo")
    made = creds.create(ctx_of(demo), demo, demo.user_id, {"name": "shrinks"})
    admin.revoke_grant(ctx, "demo", "demo", "member")
    proof = login(sessions, {"id": made.row.id, "secret": made.secret})
    assert [r.name for r in proof.roles] == ["reader"]
    admin.revoke_grant(ctx, "demo", "demo", "reader")
    assert login(sessions, {"id": made.row.id, "secret": made.secret}).roles == []


def test_deleting_a_role_deletes_the_credentials_of_its_holders(creds, admin, sessions):
    owner = token_of(admin, "admin")
    admin.create_role(ctx_of(owner), {"name": "observer"})
    admin.grant(ctx_of(owner), "demo", "demo", "observer")
    demo = token_of(admin, "demo")
    made = creds.create(ctx_of(demo), demo, demo.user_id, {"name": "doomed"})
    admin.delete_role(ctx_of(owner), "observer")
    with pytest.raises(NotFound):
        creds.get(made.row.id)


def test_an_expired_credential_logs_in_no_more(creds, admin, sessions):
    demo = token_of(admin, "demo")
    made = creds.create(ctx_of(demo), demo, demo.user_id,
                        {"name": "short", "expires_at": "2099-01-01T00:00:00"})
    with transaction(sessions) as session:
        session.get_one(ApplicationCredential, made.row.id).expires_at = time.time() - 1
    with pytest.raises(Unauthorized):
        login(sessions, {"id": made.row.id, "secret": made.secret})


def test_ec2_credentials_are_stored_as_keystone_stores_them(admin, sessions):
    ec2 = Ec2Credentials(sessions, Notifier("identity", sessions))
    demo = token_of(admin, "demo")
    made = ec2.create(ctx_of(demo), demo, demo.user_id, demo.project_id)
    assert (made.user_id, made.tenant_id, made.trust_id) == (demo.user_id, demo.project_id, None)
    assert len(made.access) == len(made.secret) == 32
    with transaction(sessions, write=False) as session:
        row = session.scalars(select(Credential)).one()
    assert (row.id, row.type) == (credential_id(made.access), "ec2")
    assert ec2.get(demo, demo.user_id, made.access) == made
    assert ec2.list_for_user(demo, demo.user_id) == [made]
    with pytest.raises(NotFound, match="Could not find project"):
        ec2.create(ctx_of(demo), demo, demo.user_id, "nope")
    with pytest.raises(NotFound, match="Could not find credential"):
        ec2.get(demo, demo.user_id, "nope")
    ec2.delete(ctx_of(demo), demo, demo.user_id, made.access)
    assert ec2.list_for_user(demo, demo.user_id) == []


def test_an_application_credential_token_reaches_only_its_projects_ec2_keys(admin, sessions,
                                                                            creds):
    ec2 = Ec2Credentials(sessions, Notifier("identity", sessions))
    owner = token_of(admin, "admin")
    admin.grant(ctx_of(owner), "demo", "admin", "member")
    elsewhere = ec2.create(ctx_of(owner), owner, owner.user_id, admin.get_project("demo").id)
    free = creds.create(ctx_of(owner), owner, owner.user_id, {"name": "f", "unrestricted": True})
    via = token_of(admin, "admin", free.row.id)
    assert ec2.list_for_user(via, owner.user_id) == []
    with pytest.raises(Forbidden, match="does not match"):
        ec2.get(via, owner.user_id, elsewhere.access)
    with pytest.raises(Forbidden, match="does not match"):
        ec2.create(ctx_of(via), via, owner.user_id, admin.get_project("demo").id)
    here = ec2.create(ctx_of(via), via, owner.user_id, owner.project_id)
    assert ec2.list_for_user(via, owner.user_id) == [here]


def test_revocation_events_name_application_credentials():
    event = RevocationEvent(issued_before=round(time.time(), 6), application_credential_id="ac1")
    assert RevocationEvent.from_json(event.to_json()) == event
    token = TokenData(user_id="u", user_name="n", project_id="p", project_name="p", roles=[],
                      expires_at=time.time() + 60, issued_at=time.time() - 1)
    assert not event.revokes(token)
    token.application_credential_id = "ac1"
    assert event.revokes(token)
