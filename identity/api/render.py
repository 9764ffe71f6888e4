"""Identity resources in Keystone's JSON shapes."""
from __future__ import annotations

from flask import request

from identity.admin import RoleAssignment
from identity.models import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Project, Role, User

DEFAULT_DOMAIN = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}


def base_url() -> str:
    return request.host_url.rstrip("/")


def links(path: str) -> dict:
    return {"self": f"{base_url()}{path}"}


def project(p: Project) -> dict:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id,
            "description": p.description, "enabled": p.enabled, "is_domain": False,
            "parent_id": p.domain_id, "tags": [], "options": {},
            "links": links(f"/v3/projects/{p.id}")}


def user(u: User) -> dict:
    body = {"id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
            "password_expires_at": None, "options": {}, "links": links(f"/v3/users/{u.id}")}
    if u.description:  # Keystone shows a user's description only when one was given
        body["description"] = u.description
    if u.default_project_id:
        body["default_project_id"] = u.default_project_id
    if u.email:
        body["email"] = u.email
    return body


def role(r: Role) -> dict:
    return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description or None,
            "options": {}, "links": links(f"/v3/roles/{r.id}")}


def domain() -> dict:
    return {**DEFAULT_DOMAIN, "description": "The default domain", "enabled": True,
            "tags": [], "options": {}, "links": links(f"/v3/domains/{DEFAULT_DOMAIN_ID}")}


def collection(key: str, items: list[dict], path: str) -> dict:
    """A list in Keystone's shape; its self link keeps the query (the filters)."""
    query = request.query_string.decode()
    return {key: items, "links": {"self": f"{base_url()}{path}" + (f"?{query}" if query else ""),
                                  "previous": None, "next": None}}


def role_assignment(assignment: RoleAssignment) -> dict:
    role: dict = {"id": assignment.role_id}
    user: dict = {"id": assignment.user_id}
    project: dict = {"id": assignment.project_id}
    if assignment.names:
        role["name"] = assignment.role_name
        user.update(name=assignment.user_name, domain=dict(DEFAULT_DOMAIN))
        project.update(name=assignment.project_name, domain=dict(DEFAULT_DOMAIN))
    # An implied role links to the assignment of the role that implied it and,
    # as Keystone 30 writes it, to /prior_role/{implied}/implies/{prior}.
    granted = assignment.prior_role_id or assignment.role_id
    links = {"assignment": f"{base_url()}/v3/projects/{assignment.project_id}/users/"
                           f"{assignment.user_id}/roles/{granted}"}
    if assignment.prior_role_id:
        links["prior_role"] = (f"{base_url()}/v3/prior_role/{assignment.role_id}"
                               f"/implies/{assignment.prior_role_id}")
    return {"role": role, "user": user, "scope": {"project": project}, "links": links}
