"""Revocation events travel in Keystone's OS-REVOKE format (ISO 8601 times),
so a service can read the events of identity or of a real Keystone."""
from shared.revocation import RevocationEvent, isotime, parse_isotime
from shared.tokens import TokenData


def test_event_is_written_as_keystone_writes_it():
    body = RevocationEvent(issued_before=1765000000.25, user_id="u").to_json()
    assert body == {"user_id": "u", "issued_before": "2025-12-06T05:46:40.250000Z",
                    "revoked_at": "2025-12-06T05:46:40.250000Z"}


def test_keystone_event_is_read_and_applied():
    # An event as Keystone 30 answers GET /v3/OS-REVOKE/events.
    event = RevocationEvent.from_json({"audit_id": "a1",
                                       "issued_before": "2025-12-06T05:46:40.000000Z",
                                       "revoked_at": "2025-12-06T05:46:40.000000Z"})
    assert event == RevocationEvent(issued_before=1765000000.0, audit_id="a1")
    token = TokenData(user_id="u", user_name="n", project_id="p", project_name="p", roles=[],
                      expires_at=1765003600.0, issued_at=1764999990.0, audit_id="a1")
    assert event.revokes(token)
    token.issued_at = 1765000001.0
    assert not event.revokes(token)


def test_times_round_trip_to_the_microsecond():
    assert parse_isotime(isotime(1765000000.123456)) == 1765000000.123456
    assert parse_isotime("2025-12-06T05:46:40") == 1765000000.0


def test_a_revoked_token_is_listed_by_audit_id_and_by_audit_chain():
    event = RevocationEvent(issued_before=1765000000.0, audit_id="a1")
    by_id, by_chain = event.keystone_events()
    assert by_id["audit_id"] == "a1" and "audit_chain_id" not in by_id
    assert by_chain["audit_chain_id"] == "a1" and "audit_id" not in by_chain
    assert RevocationEvent.from_json(by_id) == RevocationEvent.from_json(by_chain) == event
    assert RevocationEvent(issued_before=1.0, user_id="u").keystone_events() == [
        RevocationEvent(issued_before=1.0, user_id="u").to_json()]


def test_the_services_of_one_process_share_one_list_per_stack():
    """One fetch per interval for all the services a process serves; two
    stacks (state directories) never share one."""
    from shared.revocation import shared_cache
    fetched = []

    def fetch(name):
        return lambda: fetched.append(name) or []

    token = TokenData(user_id="u", user_name="n", project_id="p", project_name="p", roles=[],
                      expires_at=1765003600.0, issued_at=1764999990.0, audit_id="a1")
    imaged = shared_cache("/stack-a", "http://127.0.0.1:5000", fetch("imaged"), 60.0)
    networkd = shared_cache("/stack-a", "http://127.0.0.1:5000", fetch("networkd"), 60.0)
    other = shared_cache("/stack-b", "http://127.0.0.1:5000", fetch("other"), 60.0)
    assert imaged is networkd and other is not imaged
    for cache in (imaged, networkd, other):
        assert not cache.is_revoked(token)
    assert fetched == ["imaged", "other"]
