"""One side of the comparison: an identity URL, an image URL and a token per
role, with the same users, projects and roles seeded on both sides through
the Keystone API (after Keystone's own bootstrap, or `pocketstack up`'s).

The roles compared:
  admin    user admin, role admin on project admin
  member   user cmp-member, role member on project cmp-alpha (owns the images)
  reader   user cmp-reader, role reader on project cmp-alpha
  other    user cmp-other, role member on project cmp-beta
  anon     no token at all
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import requests

ROLES = ("admin", "member", "reader", "other", "anon")
SEEDED = {"member": ("cmp-member", "cmp-alpha", "member"),
          "reader": ("cmp-reader", "cmp-alpha", "reader"),
          "other": ("cmp-other", "cmp-beta", "member")}


@dataclass
class Side:
    """What a scenario needs to send requests to one side."""

    name: str
    identity_url: str
    image_url: str
    admin_password: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)   # placeholder name -> real value
    passwords: dict[str, str] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)  # placeholder -> URL or path prefix

    def url(self, service: str, path: str) -> str:
        return (self.identity_url if service == "identity" else self.image_url) + path

    def headers(self, role: str) -> dict[str, str]:
        return {"X-Auth-Token": self.tokens[role]} if role != "anon" else {}

    def login(self, user: str, password: str, project: str) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
        response = requests.post(self.identity_url + "/v3/auth/tokens", json=body, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"{self.name}: login of {user} failed: {response.status_code} "
                               f"{response.text[:300]}")
        return response.headers["X-Subject-Token"]

    def admin_call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, self.identity_url + path, timeout=30,
                                    headers=self.headers("admin"), **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{self.name}: {method} {path}: {response.status_code} "
                               f"{response.text[:300]}")
        return response


def _find_or_create(side: Side, kind: str, name: str, body: dict) -> str:
    found = side.admin_call("GET", f"/v3/{kind}s", params={"name": name}).json()[f"{kind}s"]
    if found:
        return found[0]["id"]
    return side.admin_call("POST", f"/v3/{kind}s", json={kind: body}).json()[kind]["id"]


def _grant(side: Side, project_id: str, user_id: str, role: str) -> None:
    role_id = _find_or_create(side, "role", role, {"name": role})
    side.admin_call("PUT", f"/v3/projects/{project_id}/users/{user_id}/roles/{role_id}")


def seed(side: Side) -> None:
    """The same users, projects and role assignments on either side (both start
    empty: the work directory is new), and a token for each role; the ids go
    into side.ids for the scenarios and the normaliser."""
    side.tokens["admin"] = side.login("admin", side.admin_password, "admin")
    admin_user = side.admin_call("GET", "/v3/users", params={"name": "admin"}).json()["users"]
    side.ids["admin_user"] = admin_user[0]["id"]
    side.ids["admin_project"] = _find_or_create(side, "project", "admin", {"name": "admin"})
    for role in ("admin", "member", "reader"):
        side.ids[f"role_{role}"] = _find_or_create(side, "role", role, {"name": role})
    for project in ("cmp-alpha", "cmp-beta"):
        side.ids[project.replace("cmp-", "project_")] = _find_or_create(
            side, "project", project, {"name": project, "domain_id": "default",
                                       "description": ""})
    for role, (user, project, role_name) in SEEDED.items():
        password = side.passwords.setdefault(user, secrets.token_urlsafe(18))
        user_id = _find_or_create(side, "user", user, {
            "name": user, "password": password, "domain_id": "default", "enabled": True})
        # (No password change afterwards: Keystone revokes every token of a user
        # whose password changes, those issued in the same second too.)
        side.ids[f"user_{role}"] = user_id
        _grant(side, side.ids[project.replace("cmp-", "project_")], user_id, role_name)
        side.tokens[role] = side.login(user, password, project)


def seed_real_glance_user(side: Side, glance_password: str, glance_url: str) -> None:
    """On the real Keystone: what Glance's keystonemiddleware needs (project
    service, user glance with roles admin and service) and the image service
    in the catalog."""
    project_id = _find_or_create(side, "project", "service",
                                 {"name": "service", "domain_id": "default"})
    user_id = _find_or_create(side, "user", "glance", {
        "name": "glance", "password": glance_password, "domain_id": "default"})
    for role in ("admin", "service"):
        _grant(side, project_id, user_id, role)
    services = side.admin_call("GET", "/v3/services").json()["services"]
    if not any(s["type"] == "image" for s in services):
        service_id = side.admin_call("POST", "/v3/services", json={"service": {
            "type": "image", "name": "glance"}}).json()["service"]["id"]
        for interface in ("public", "internal", "admin"):
            side.admin_call("POST", "/v3/endpoints", json={"endpoint": {
                "service_id": service_id, "interface": interface, "url": glance_url,
                "region_id": "RegionOne"}})
