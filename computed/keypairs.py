"""Key pairs: checking a new one, making one, and recording it.

Key pairs belong to a user (not a project). The current client generates the
key itself and imports the public half; a request without public_key gets a
new RSA key made here, its private half returned once and never stored (2.1
behaviour). A server's key pair ends up in its config drive (public_keys).
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from computed import x509_keys
from computed.db import repository as repo
from computed.db.models import KeyPair
from computed.flows import Deps
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden

NAME = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
KEY_TYPES = ("ssh", "x509")


class InvalidKey(ValueError):
    pass


def fingerprint(public_key: str) -> str:
    """The key's md5 fingerprint "aa:bb:...", as Nova and ssh-keygen -E md5
    print it; InvalidKey if it is not an OpenSSH public key."""
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1])
    except (ValueError, IndexError, TypeError):
        raise InvalidKey("Keypair data is invalid: failed to generate fingerprint") \
            from None
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate() -> tuple[str, str]:
    """(private key PEM, public key in OpenSSH format)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public + " Generated-by-PocketStack"


@dataclass(frozen=True)
class CreatedKeyPair:
    keypair: KeyPair
    private_key: str | None   # only when the key was made here


def create_keypair(deps: Deps, ctx: RequestContext, spec: object,
                   user_id: str | None = None) -> CreatedKeyPair:
    """POST /os-keypairs {"keypair": spec}: check the name and key (400),
    the user's key pair quota (403) and the name's uniqueness (409), then
    record it (a key made here when the spec has no public_key). `type` is
    ssh or x509 (the API allows it from 2.2); `user_id` the owner (an
    admin's choice from 2.10; the caller by default)."""
    owner = user_id or ctx.user_id or ""
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input: the body must be {\"keypair\": {...}}.")
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or not NAME.match(name):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}. "
                         f"Keypair names are letters, digits, spaces, '.', '_' and "
                         f"'-' (1 to 255).")
    key_type = spec.get("type", "ssh")
    if key_type not in KEY_TYPES:
        raise BadRequest(f"Invalid input for field/attribute type. Value: {key_type}. "
                         f"{key_type!r} is not one of {list(KEY_TYPES)}")
    private_key = None
    public_key = spec.get("public_key")
    if public_key is None:
        private_key, public_key = generate() if key_type == "ssh" else \
            x509_keys.generate(owner)
    if not isinstance(public_key, str):
        raise BadRequest("Invalid input for field/attribute public_key.")
    try:
        print_ = fingerprint(public_key) if key_type == "ssh" else \
            x509_keys.fingerprint(public_key)
    except (InvalidKey, x509_keys.InvalidCertificate) as exc:
        raise BadRequest(str(exc)) from None
    max_keys = deps.settings.max_key_pairs
    try:
        with transaction(deps.sessions) as session:
            count = session.scalar(select(func.count()).select_from(KeyPair)
                                   .where(KeyPair.user_id == owner)) or 0
            if 0 <= max_keys <= count:
                raise Forbidden("Quota exceeded, too many key pairs.")
            keypair = KeyPair(user_id=owner, name=name, type=key_type,
                              public_key=public_key.strip(), fingerprint=print_,
                              created_at=repo.now())
            session.add(keypair)
            session.flush()
            deps.notifier.notify(
                ctx, "keypair.import" if private_key is None else "keypair.create",
                resource_type="keypair", resource_id=name,
                payload={"key_name": name, "fingerprint": print_,
                         "user_id": owner}, session=session)
    except IntegrityError:
        raise Conflict(f"Key pair '{name}' already exists.") from None
    return CreatedKeyPair(keypair, private_key)
