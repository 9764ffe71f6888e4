"""How one PocketStack service calls another: over the public REST API,
with a token of its own, the way Nova calls Glance and Cinder.

ServiceSession logs the service user in (password from the service's config
file), renews the token before it expires, and sends it as X-Auth-Token for
the service's own calls, or as X-Service-Token beside the user's token when
acting on a user's behalf. Every call also carries the id of the user action
it is part of (X-OpenStack-Request-ID, see shared.request_ids), so the
callee logs it beside its own.

A session given a directory to keep its token in (the state's run/tokens,
mode 0600 like the config file that holds the password) starts with the
token it kept at its last login, if identity still validates it: a login
costs identity a bcrypt check of the password, a quarter of a second of
CPU, on the first call of each service after every start of the stack.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import requests

from shared import request_ids
from shared.secrets import write_private_file
from shared.timeutil import parse_iso


class ServiceAuthError(Exception):
    pass


class ServiceSession:
    RENEW_BEFORE_EXPIRY = 60.0
    TIMEOUT = 60.0  # a call that names no timeout of its own

    def __init__(self, identity_url: str, username: str, password: str, project_name: str,
                 keep_token_in: Path | None = None):
        self.identity_url = identity_url.rstrip("/")
        self._username, self._password, self._project = username, password, project_name
        self._token: str | None = None
        self._project_id: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self._kept = keep_token_in / f"{username}@{project_name}.json" if keep_token_in \
            else None
        self.http = requests.Session()
        # Straight to the other service: no proxy from the environment (a
        # user's http_proxy must not carry the stack's tokens away), no
        # credentials from ~/.netrc, and no reading of either at each call.
        self.http.trust_env = False

    @classmethod
    def from_config(cls, conf, keep_token_in: Path | None = None) -> ServiceSession:
        return cls(conf.auth.identity_url, conf.service_auth.username,
                   conf.service_auth.password, conf.service_auth.project_name, keep_token_in)

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires - self.RENEW_BEFORE_EXPIRY:
                self._token, self._project_id, self._expires = self._login()
            return self._token

    def project_id(self) -> str:
        """The id of the service user's project (where its own resources live)."""
        self.token()
        assert self._project_id is not None  # set by the login token() made
        return self._project_id

    def _login(self) -> tuple[str, str, float]:
        kept = self._kept_token()
        if kept:
            return kept
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self._username, "password": self._password,
                "domain": {"id": "default"}}}},
            "scope": {"project": {"name": self._project, "domain": {"id": "default"}}}}}
        response = self.http.post(f"{self.identity_url}/v3/auth/tokens", json=body,
                                  headers=request_id_header(), timeout=30)
        if response.status_code != 201:
            raise ServiceAuthError(f"service user {self._username} could not log in: "
                                   f"HTTP {response.status_code}")
        token, expires_at = response.headers["X-Subject-Token"], \
            response.json()["token"]["expires_at"]
        if self._kept:
            write_private_file(self._kept, json.dumps({"token": token,
                                                       "expires_at": expires_at}))
        return token, response.json()["token"]["project"]["id"], \
            parse_iso(expires_at).timestamp()

    def _kept_token(self) -> tuple[str, str, float] | None:
        """The token kept at the last login, if it is not near its expiry
        and identity still validates it (a token validates itself: not
        revoked, its user and project still enabled)."""
        try:
            record = json.loads(self._kept.read_text()) if self._kept else None
            token = record["token"] if record else None
            expires = parse_iso(record["expires_at"]).timestamp() if record else 0.0
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none kept yet, or unreadable: log in
        if not token or time.time() > expires - self.RENEW_BEFORE_EXPIRY:
            return None
        response = self.http.get(f"{self.identity_url}/v3/auth/tokens", timeout=30,
                                 headers={"X-Auth-Token": token, "X-Subject-Token": token,
                                          **request_id_header()})
        if response.status_code != 200:
            assert self._kept is not None
            self._kept.unlink(missing_ok=True)
            return None
        return token, response.json()["token"]["project"]["id"], expires

    def headers(self, user_token: str | None = None) -> dict:
        """Headers for a call made for a user (user_token) or for the service."""
        if user_token:
            return {"X-Auth-Token": user_token, "X-Service-Token": self.token(),
                    **request_id_header()}
        return {"X-Auth-Token": self.token(), **request_id_header()}

    def request(self, method: str, url: str, user_token: str | None = None, **kwargs):
        headers = {**kwargs.pop("headers", {}), **self.headers(user_token)}
        kwargs.setdefault("timeout", self.TIMEOUT)
        return self.http.request(method, url, headers=headers, **kwargs)


def request_id_header() -> dict[str, str]:
    """The global request id to send on, when the call is made for a request."""
    ids = request_ids.current()
    return {request_ids.HEADER: ids.outgoing} if ids else {}
