"""The auth middleware every service uses.

For each request: take X-Auth-Token, check its signature, expiry and
revocation, and turn it into a RequestContext (user, project, roles). A
missing, bad, expired or revoked token gets 401 with the OpenStack error body
before any API code runs. A PocketStack service that calls another on behalf
of a user sends its own token in X-Service-Token too; its roles land in
context.service_roles.
"""
from __future__ import annotations

import logging
from typing import Protocol

from shared.errors import ApiError, Unauthorized
from shared.tokens import TokenCodec, TokenData, TokenError

LOG = logging.getLogger(__name__)


class RevocationCheck(Protocol):
    def is_revoked(self, token: TokenData) -> bool: ...


MAX_DECODED = 1024  # tokens whose decoded content a process keeps


class TokenValidator:
    """Validates tokens locally with the shared key repository.

    Decrypting and checking the signature of a token costs more than the
    rest of a cheap request's authentication, and a client sends the same
    token many times: its decoded content is kept (a token never changes).
    Expiry and revocation are still checked on every request."""

    def __init__(self, codec: TokenCodec, revocations: RevocationCheck,
                 identity_url: str = ""):
        self._codec = codec
        self._revocations = revocations
        # Where a client gets a token: a 401 names it in WWW-Authenticate, as
        # keystonemiddleware does with www_authenticate_uri (Keystone's /v3).
        self.identity_url = identity_url
        self._decoded: dict[str, TokenData] = {}

    def _decode(self, token: str) -> TokenData:
        data = self._decoded.get(token)
        if data is None or data.expired:  # an expired one: decode says so
            data = self._codec.decode(token)
            if len(self._decoded) >= MAX_DECODED:
                self._decoded.clear()
            self._decoded[token] = data
        return data

    def validate(self, token: str) -> TokenData:
        try:
            data = self._decode(token)
        except TokenError as exc:
            raise Unauthorized(str(exc)) from None
        try:
            revoked = self._revocations.is_revoked(data)
        except Exception:  # noqa: BLE001 - identity cannot be asked: no answer is safe
            LOG.warning("revocations could not be fetched from identity", exc_info=True)
            raise ApiError("The Keystone service is temporarily unavailable.", 503) \
                from None  # keystonemiddleware's answer while identity is down
        if revoked:
            raise Unauthorized("The request you have made requires authentication: "
                               "the token has been revoked.")
        return data


def authenticate(context, headers, validator: TokenValidator) -> None:
    """Fill `context` from the request headers, or raise Unauthorized."""
    token = headers.get("X-Auth-Token")
    if not token:
        raise Unauthorized("The request you have made requires authentication: "
                           "no X-Auth-Token header.")
    data = validator.validate(token)
    context.auth_token = token
    context.user_id, context.user_name = data.user_id, data.user_name
    context.project_id, context.project_name = data.project_id, data.project_name
    context.roles = list(data.roles)
    service_token = headers.get("X-Service-Token")
    if service_token:
        service = validator.validate(service_token)
        context.service_user_name = service.user_name
        context.service_roles = list(service.roles)

