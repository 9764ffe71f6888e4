"""Browser sessions: who is logged in, kept on the server.

The browser holds only a random session id, in an HttpOnly, SameSite=Strict
cookie. The user's token stays here, in the dashboard's memory: it never
reaches the browser, a page, a URL or a log line. Each session also has its
own CSRF token, which every form posts back and every POST must carry.

A session is created for every visitor (the login form needs its CSRF
token too); logging in replaces it with a new id (no session fixation);
logging out, or staying idle too long, ends it and revokes the user's token.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.cloud import Login

COOKIE_NAME = "pocketstack_session"


@dataclass
class Session:
    id: str
    csrf_token: str
    last_used: float
    login: Login | None = None
    # Host resources read just before this user's last launch (the course's
    # "before" picture), by server id.
    resources_before: dict[str, dict] = field(default_factory=dict)
    # Messages for the next page shown (what an action did or why it was
    # refused), kept here rather than in a cookie.
    messages: list[tuple[str, str]] = field(default_factory=list)

    def say(self, text: str, kind: str = "info") -> None:
        self.messages.append((kind, text))

    def take_messages(self) -> list[tuple[str, str]]:
        taken, self.messages = self.messages, []
        return taken

    def csrf_matches(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(self.csrf_token, offered or "")


def _new_id() -> str:
    return secrets.token_urlsafe(32)


class SessionStore:
    """Sessions in memory, by id. `on_end(login)` runs when a logged-in
    session ends by logout or by time (it revokes the token)."""

    def __init__(self, idle_timeout: float, on_end: Callable[[Login], None]):
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._idle_timeout = idle_timeout
        self._on_end = on_end

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (unknown, idle too long, or
        its token expired)."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            now = time.time()
            expired = now - session.last_used > self._idle_timeout or \
                (session.login is not None and now >= session.login.expires_at)
            if expired:
                del self._sessions[session_id]
            else:
                session.last_used = now
        if expired:
            self._ended(session)
            return None
        return session

    def anonymous(self) -> Session:
        session = Session(id=_new_id(), csrf_token=secrets.token_urlsafe(32),
                          last_used=time.time())
        with self._lock:
            self._sweep()
            self._sessions[session.id] = session
        return session

    def log_in(self, old: Session | None, login: Login) -> Session:
        """A new session (new id, new CSRF token) holding the login; the old
        anonymous one is dropped."""
        session = Session(id=_new_id(), csrf_token=secrets.token_urlsafe(32),
                          last_used=time.time(), login=login)
        with self._lock:
            if old is not None:
                self._sessions.pop(old.id, None)
            self._sessions[session.id] = session
        return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        self._ended(session)

    def _ended(self, session: Session) -> None:
        if session.login is not None:
            self._on_end(session.login)

    def _sweep(self) -> None:
        """Forget anonymous sessions idle too long (a crawler's visits)."""
        now = time.time()
        for session_id, session in list(self._sessions.items()):
            if session.login is None and now - session.last_used > self._idle_timeout:
                del self._sessions[session_id]
