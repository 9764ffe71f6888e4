"""The identity service, as the other services call it: the list of
revoked tokens, and the catalog (where a service finds another one)."""
from __future__ import annotations

from collections.abc import Collection

from shared.clients.base import Caller, RemoteError, ServiceClient
from shared.clients.session import ServiceSession
from shared.revocation import RevocationEvent


class IdentityClient(ServiceClient):
    service = "identity"

    def __init__(self, session: ServiceSession):
        super().__init__(session, session.identity_url, timeout=30.0)

    def revocations(self) -> list[RevocationEvent]:
        answer = self.call("GET", "/v3/OS-REVOKE/events", Caller(None)).json()
        return [RevocationEvent.from_json(item) for item in answer["events"]]

    def project_id(self, name: str) -> str | None:
        """The id of the project of this name (domain Default), or None."""
        answer = self.call("GET", "/v3/projects", Caller(None), params={"name": name}).json()
        return next((p["id"] for p in answer["projects"] if p["name"] == name), None)

    def endpoint(self, types: Collection[str]) -> str:
        """The URL of the first service of one of these types in the service
        user's catalog (internal interface, else public); RemoteError 404 if
        there is none."""
        for entry in self.call("GET", "/v3/auth/catalog", Caller(None)).json()["catalog"]:
            if entry["type"] in types:
                urls = {e["interface"]: e["url"] for e in entry["endpoints"]}
                url = urls.get("internal") or urls.get("public")
                if url:
                    return url.rstrip("/")
        raise RemoteError(self.service, 404, f"no {' or '.join(types)} service in the "
                          "catalog")


def fetch_revocations(session: ServiceSession) -> list[RevocationEvent]:
    return IdentityClient(session).revocations()
