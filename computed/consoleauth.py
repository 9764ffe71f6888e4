"""Console tokens, as Nova's ConsoleAuthToken: what lets the holder of a
remote console URL (ws://127.0.0.1:6083/?token=...) into one server's
console, and nothing else.

    a token       a random UUID (Nova's uuidutils.generate_uuid), given to
                  the caller once, inside the URL
    kept          only its SHA-256 (a copy of the database opens nothing),
                  with the console type, the server and when it expires
                  ([consoleauth] token_ttl, 600 s)
    checked       by the proxy at each connection: known, not expired, for a
                  server that still exists
    forgotten     when it expires (removed at the next token made) and when
                  the server is deleted (terminate.py)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid as uuidlib
from dataclasses import dataclass

from sqlalchemy import delete, select

from computed.db import repository as repo
from computed.db.models import ConsoleAuthToken


@dataclass(frozen=True)
class Grant:
    """What a valid token opens."""
    console_type: str
    instance_uuid: str
    access_url_base: str
    expires: dt.datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_url(access_url_base: str, token: str) -> str:
    """Nova's access_url of a serial console: base_url?token=<token>."""
    return f"{access_url_base}?token={token}"


def authorize(session, instance_uuid: str, console_type: str, access_url_base: str,
              ttl_seconds: int) -> str:
    """A new token for the server's console (in the caller's write
    transaction); returns the token itself, which is kept nowhere."""
    now = repo.now()
    session.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires <= now))
    token = str(uuidlib.uuid4())
    session.add(ConsoleAuthToken(token_hash=token_hash(token), console_type=console_type,
                                 instance_uuid=instance_uuid,
                                 access_url_base=access_url_base, created_at=now,
                                 expires=now + dt.timedelta(seconds=ttl_seconds)))
    return token


def validate(session, token: str) -> Grant | None:
    """What the token opens, or None if it is unknown or expired."""
    if not token:
        return None
    row = session.scalar(select(ConsoleAuthToken).where(
        ConsoleAuthToken.token_hash == token_hash(token)))
    if row is None or row.expires <= repo.now():
        return None
    return Grant(row.console_type, row.instance_uuid, row.access_url_base, row.expires)


def delete_for_instance(session, instance_uuid: str) -> None:
    """The server is gone: its tokens open nothing any more."""
    session.execute(delete(ConsoleAuthToken).where(
        ConsoleAuthToken.instance_uuid == instance_uuid))
