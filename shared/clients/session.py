"""How one PocketStack service calls another: over the public REST API,
with a token of its own, the way Nova calls Glance and Cinder.

ServiceSession logs the service user in (password from the service's config
file), renews the token before it expires, and sends it as X-Auth-Token for
the service's own calls, or as X-Service-Token beside the user's token when
acting on a user's behalf. Every call also carries the id of the user action
it is part of (X-OpenStack-Request-ID, see shared.request_ids), so the
callee logs it beside its own.
"""
from __future__ import annotations

import threading
import time

import requests

from shared import request_ids
from shared.timeutil import parse_iso


class ServiceAuthError(Exception):
    pass


class ServiceSession:
    RENEW_BEFORE_EXPIRY = 60.0
    TIMEOUT = 60.0  # a call that names no timeout of its own

    def __init__(self, identity_url: str, username: str, password: str, project_name: str):
        self.identity_url = identity_url.rstrip("/")
        self._username, self._password, self._project = username, password, project_name
        self._token: str | None = None
        self._project_id: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.http = requests.Session()

    @classmethod
    def from_config(cls, conf) -> ServiceSession:
        return cls(conf.auth.identity_url, conf.service_auth.username,
                   conf.service_auth.password, conf.service_auth.project_name)

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
        token = response.json()["token"]
        expires = parse_iso(token["expires_at"]).timestamp()
        return response.headers["X-Subject-Token"], token["project"]["id"], expires

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
