"""Revoked tokens.

A signed token stays valid until it expires, so revoking one needs a list:
identity records a revocation event (a token's audit id, or "every token of
this user / project / application credential issued before T") and services
check tokens against the events. Services fetch the list from identity's
OS-REVOKE API and keep it for `revocation_check_interval` seconds (0 = ask
on every request), the same trade-off keystonemiddleware makes with its
token cache.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
        body = {"issued_before": self.issued_before}
        for key in FIELDS:
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        return body

    @classmethod
    def from_json(cls, body: dict) -> RevocationEvent:
        return cls(issued_before=float(body["issued_before"]),
                   **{key: body.get(key) for key in FIELDS})


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
