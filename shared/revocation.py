"""Revoked tokens.

A signed token stays valid until it expires, so revoking one needs a list:
identity records a revocation event (a token's audit id, or "every token of
this user / project / application credential issued before T") and services
check tokens against the events. Services fetch the list from identity's
OS-REVOKE API and keep it for `revocation_check_interval` seconds (0 = ask
on every request), the same trade-off keystonemiddleware makes with its
token cache. Services served by one process (pocketstack's default) keep
one list between them (`shared_cache`).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.tokens import TokenData

# What an event can name; a token matches when it has every value named.
FIELDS = ("audit_id", "user_id", "project_id", "application_credential_id")


@dataclass(frozen=True)
class RevocationEvent:
    issued_before: float
    audit_id: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    application_credential_id: str | None = None

    def revokes(self, token: TokenData) -> bool:
        """True when the token was issued before the event and matches every
        field the event names (an event naming nothing revokes nothing)."""
        if token.issued_at > self.issued_before:
            return False
        named = {key: getattr(self, key) for key in FIELDS if getattr(self, key)}
        return bool(named) and all(getattr(token, key) == value for key, value in named.items())

    def to_json(self) -> dict:
        """Keystone's shape: ISO 8601 UTC times with microseconds. The event is
        recorded when it is made, so revoked_at is issued_before."""
        body: dict = {key: getattr(self, key) for key in FIELDS if getattr(self, key) is not None}
        body["issued_before"] = body["revoked_at"] = isotime(self.issued_before)
        return body

    def keystone_events(self) -> list[dict]:
        """What Keystone lists for this event: for a revoked token, one event
        naming its audit id and one naming its audit chain (a token made here
        starts its own chain, so the chain id is its audit id)."""
        if self.audit_id is None:
            return [self.to_json()]
        chain = self.to_json()
        chain["audit_chain_id"] = chain.pop("audit_id")
        return [self.to_json(), chain]

    @classmethod
    def from_json(cls, body: dict) -> RevocationEvent:
        fields = {key: body.get(key) for key in FIELDS}
        fields["audit_id"] = body.get("audit_id") or body.get("audit_chain_id")
        return cls(issued_before=parse_isotime(body["issued_before"]), **fields)


def isotime(seconds: float) -> str:
    """Epoch seconds as Keystone writes event times (2026-12-06T04:37:22.123456Z).
    Keystone zeroes the microseconds; keeping them lets a token made in the
    same second after a revocation stay valid."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_isotime(text: str) -> float:
    """Epoch seconds from an ISO 8601 time (naive times are UTC)."""
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class CachedRevocations:
    """Revocation events from a fetch function, refreshed after `interval`."""

    def __init__(self, fetch: Callable[[], Iterable[RevocationEvent]], interval: float):
        self._fetch = fetch
        self._interval = interval
        self._events: list[RevocationEvent] = []
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def is_revoked(self, token: TokenData) -> bool:
        with self._lock:
            if time.monotonic() - self._fetched_at >= self._interval:
                self._events = list(self._fetch())
                self._fetched_at = time.monotonic()
            events = self._events
        return any(event.revokes(token) for event in events)


_SHARED: dict[tuple[str, str, float], CachedRevocations] = {}
_SHARED_LOCK = threading.Lock()


def shared_cache(stack: str, identity_url: str,
                 fetch: Callable[[], Iterable[RevocationEvent]],
                 interval: float) -> CachedRevocations:
    """The list of identity at `identity_url` as this process keeps it, one
    for all the services it serves: a request that crosses several of them
    (a server create asks imaged and networkd) then waits for one fetch at
    most, not one per service, and the process asks identity once per
    interval, not once per service. A token is still checked against a list
    no older than `interval`. `fetch` is the first service's; every service
    user may read the list. `stack` (its state directory) keeps two stacks
    apart, were one process to serve both."""
    with _SHARED_LOCK:
        key = (stack, identity_url, interval)
        if key not in _SHARED:
            _SHARED[key] = CachedRevocations(fetch, interval)
        return _SHARED[key]
