"""Signed tokens that any service can validate without asking identity.

A token is a Fernet message (AES-128-CBC + HMAC-SHA256, from the
`cryptography` library) carrying who the caller is, in which project, with
which roles, and until when. Every service on the host reads the same key
repository, so it can check the signature and the expiry locally, the way
Keystone's Fernet tokens let services validate offline. Revocation is the one
thing a signature cannot express: see shared.revocation.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.secrets import write_private_file


class TokenError(Exception):
    """The token cannot be used; the message says why (for a 401 body)."""


@dataclass
class TokenData:
    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: list[str]
    expires_at: float
    issued_at: float = field(default_factory=time.time)
    audit_id: str = field(default_factory=lambda: uuid.uuid4().hex[:22])
    methods: list[str] = field(default_factory=lambda: ["password"])
    # Set when the token was made with an application credential: the token
    # holds only that credential's roles, and deleting it ends the token.
    application_credential_id: str | None = None

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


class KeyRepository:
    """A directory of Fernet keys named 0, 1, 2...; the highest number signs,
    all of them validate (so keys can be rotated without cutting users off)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if not self._key_files():
            write_private_file(self.directory / "0", Fernet.generate_key())

    def _key_files(self) -> list[Path]:
        files = [p for p in self.directory.glob("*") if p.name.isdigit()]
        return sorted(files, key=lambda p: int(p.name), reverse=True)

    def fernet(self) -> MultiFernet:
        keys = [Fernet(p.read_bytes().strip()) for p in self._key_files()]
        if not keys:
            raise TokenError(f"no token keys in {self.directory}")
        return MultiFernet(keys)


class TokenCodec:
    def __init__(self, keys: KeyRepository):
        self._fernet = keys.fernet()

    def encode(self, data: TokenData) -> str:
        payload = json.dumps(asdict(data), separators=(",", ":")).encode()
        return self._fernet.encrypt(payload).decode()

    def decode(self, token: str) -> TokenData:
        """Check signature and expiry; raise TokenError otherwise."""
        try:
            payload = self._fernet.decrypt(token.encode())
            data = TokenData(**json.loads(payload))
        except (InvalidToken, ValueError, TypeError, UnicodeError):
            raise TokenError("The request you have made requires authentication: "
                             "the token is not valid.") from None
        if data.expired:
            raise TokenError("The request you have made requires authentication: "
                             "the token has expired.")
        return data
