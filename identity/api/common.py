"""What every identity handler shares: the service's runtime (kept on the
Flask app by app.py, so the blueprints are module-level objects with no
closures) and policy."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request

from identity.admin import IdentityAdmin
from shared.api import context
from shared.errors import Unauthorized
from shared.service import Service
from shared.strutils import query_flag
from shared.tokens import TokenData, TokenError

EXTENSION = "identity"


@dataclass(frozen=True)
class Runtime:
    service: Service
    admin: IdentityAdmin

    @classmethod
    def build(cls, service: Service) -> Runtime:
        return cls(service=service, admin=IdentityAdmin(
            service.sessions, service.notifier,
            password_hash_rounds=service.conf.identity.password_hash_rounds,
            token_lifetime=service.conf.token.expiration))

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self


def runtime() -> Runtime:
    """The runtime of the app serving this request."""
    return current_app.extensions[EXTENSION]


def service() -> Service:
    return runtime().service


def admin() -> IdentityAdmin:
    return runtime().admin


def caller_token() -> TokenData:
    """The caller's token as identity signed it (the auth middleware has
    validated it): whether it was made with an application credential is
    there, not in the request context."""
    try:
        return service().codec.decode(context().auth_token or "")
    except TokenError as exc:
        raise Unauthorized(str(exc)) from None


def authorize(rule: str, target: dict | None = None) -> None:
    """Ask policy for `identity:<rule>`; 403 when it says no."""
    service().policy.authorize(f"identity:{rule}", target or {}, context())


def flag(name: str) -> bool:
    """A query flag (?effective, ?include_names), as Keystone's running code
    reads it (query_filter_is_true): absent is false, `0` is false, and any
    other value, none included, is true. Keystone never refuses a flag's
    value, so neither does this: a client written against Keystone gets the
    same answer here."""
    return query_flag(request.args.get(name))
