"""Projects, users, roles and role assignments (admin by default).

Each handler parses the request, asks policy, calls one method of
identity.admin.IdentityAdmin and renders Keystone's JSON."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from identity import catalog, schemas
from identity.admin import AssignmentQuery
from identity.api import render
from identity.api.common import admin, authorize, flag, service
from identity.models import DEFAULT_DOMAIN_ID
from shared.api import context, json_body
from shared.errors import BadRequest, NotFound
from shared.openapi import describe
from shared.validation import checked

bp = Blueprint("identity_admin", __name__)


# --- domains: there is exactly one ---------------------------------------------------
@bp.get("/v3/domains")
def list_domains():
    authorize("list_domains")
    name = request.args.get("name")
    items = [render.domain()] if name in (None, "Default") else []
    return jsonify(render.collection("domains", items, "/v3/domains"))


@bp.get("/v3/domains/<domain_id>")
def show_domain(domain_id):
    if domain_id not in (DEFAULT_DOMAIN_ID, "Default"):
        raise NotFound(f"Could not find domain: {domain_id}.")
    return jsonify({"domain": render.domain()})


# --- projects --------------------------------------------------------------------------
@bp.get("/v3/projects")
def list_projects():
    authorize("list_projects")
    projects = admin().list_projects(request.args.get("name"))
    return jsonify(render.collection("projects", [render.project(p) for p in projects],
                                     "/v3/projects"))


@bp.get("/v3/projects/<project_id>")
def show_project(project_id):
    project = admin().get_project(project_id)
    authorize("get_project", {"target.project.id": project.id})
    return jsonify({"project": render.project(project)})


@bp.post("/v3/projects")
@describe(request=schemas.PROJECT_CREATE)
def create_project():
    authorize("create_project")
    checked(json_body(), schemas.PROJECT_CREATE)
    project = admin().create_project(context(), _new_resource_spec("project"))
    return jsonify({"project": render.project(project)}), 201


@bp.patch("/v3/projects/<project_id>")
@describe(request=schemas.PROJECT_UPDATE)
def update_project(project_id):
    authorize("update_project")
    checked(json_body(), schemas.PROJECT_UPDATE)
    project = admin().update_project(context(), project_id, _changes("project"))
    return jsonify({"project": render.project(project)})


@bp.delete("/v3/projects/<project_id>")
def delete_project(project_id):
    authorize("delete_project")
    admin().delete_project(context(), project_id)
    return Response(status=204)


# --- users -------------------------------------------------------------------------------
@bp.get("/v3/users")
def list_users():
    authorize("list_users")
    users = admin().list_users(request.args.get("name"))
    return jsonify(render.collection("users", [render.user(u) for u in users], "/v3/users"))


@bp.get("/v3/users/<user_id>")
def show_user(user_id):
    user = admin().get_user(user_id)
    authorize("get_user", {"target.user.id": user.id})
    return jsonify({"user": render.user(user)})


@bp.post("/v3/users")
@describe(request=schemas.USER_CREATE)
def create_user():
    authorize("create_user")
    checked(json_body(), schemas.USER_CREATE)
    user = admin().create_user(context(), _new_resource_spec("user"))
    return jsonify({"user": render.user(user)}), 201


@bp.patch("/v3/users/<user_id>")
@describe(request=schemas.USER_UPDATE)
def update_user(user_id):
    authorize("update_user")
    checked(json_body(), schemas.USER_UPDATE)
    user = admin().update_user(context(), user_id, _changes("user"))
    return jsonify({"user": render.user(user)})


@bp.delete("/v3/users/<user_id>")
def delete_user(user_id):
    authorize("delete_user")
    admin().delete_user(context(), user_id)
    return Response(status=204)


@bp.get("/v3/users/<user_id>/projects")
def user_projects(user_id):
    authorize("list_user_projects", {"target.user.id": user_id})
    projects = admin().projects_of_user(user_id)
    return jsonify(render.collection("projects", [render.project(p) for p in projects],
                                     f"/v3/users/{user_id}/projects"))


# --- roles -------------------------------------------------------------------------------
@bp.get("/v3/roles")
def list_roles():
    authorize("list_roles")
    roles = admin().list_roles(request.args.get("name"))
    return jsonify(render.collection("roles", [render.role(r) for r in roles], "/v3/roles"))


@bp.get("/v3/roles/<role_id>")
def show_role(role_id):
    authorize("get_role")
    return jsonify({"role": render.role(admin().get_role(role_id))})


@bp.post("/v3/roles")
@describe(request=schemas.ROLE_CREATE)
def create_role():
    authorize("create_role")
    checked(json_body(), schemas.ROLE_CREATE)
    role = admin().create_role(context(), _new_resource_spec("role"))
    return jsonify({"role": render.role(role)}), 201


@bp.delete("/v3/roles/<role_id>")
def delete_role(role_id):
    authorize("delete_role")
    admin().delete_role(context(), role_id)
    return Response(status=204)


# --- role assignments ----------------------------------------------------------------------
GRANT = "/v3/projects/<project_id>/users/<user_id>/roles/<role_id>"


@bp.put(GRANT)
def create_grant(project_id, user_id, role_id):
    authorize("create_grant")
    admin().grant(context(), project_id, user_id, role_id)
    return Response(status=204)


@bp.route(GRANT, methods=["GET", "HEAD"])
def check_grant(project_id, user_id, role_id):
    authorize("check_grant")
    admin().check_grant(project_id, user_id, role_id)
    return Response(status=204)


@bp.delete(GRANT)
def revoke_grant(project_id, user_id, role_id):
    authorize("revoke_grant")
    admin().revoke_grant(context(), project_id, user_id, role_id)
    return Response(status=204)


@bp.get("/v3/projects/<project_id>/users/<user_id>/roles")
def list_grants(project_id, user_id):
    authorize("list_grants")
    roles = admin().granted_roles(project_id, user_id)
    return jsonify(render.collection("roles", [render.role(r) for r in roles], request.path))


@bp.get("/v3/role_assignments")
def list_role_assignments():
    authorize("list_role_assignments")
    args = request.args
    query = AssignmentQuery(user_id=args.get("user.id") or None,
                            project_id=args.get("scope.project.id") or None,
                            role_id=args.get("role.id") or None,
                            effective=flag("effective"), include_names=flag("include_names"))
    items = [render.role_assignment(a) for a in admin().role_assignments(query)]
    return jsonify({"role_assignments": items,
                    "links": {"self": request.url, "previous": None, "next": None}})


# --- the catalog as resources (read only; it comes from identity.conf) -------------------
@bp.get("/v3/services")
def list_services():
    authorize("list_services")
    items = [{**s, "links": render.links(f"/v3/services/{s['id']}")}
             for s in catalog.services(service().conf)]
    return jsonify(render.collection("services", items, "/v3/services"))


@bp.get("/v3/endpoints")
def list_endpoints():
    authorize("list_endpoints")
    items = [{**e, "links": render.links(f"/v3/endpoints/{e['id']}")}
             for e in catalog.endpoints(service().conf)]
    return jsonify(render.collection("endpoints", items, "/v3/endpoints"))


@bp.get("/v3/regions")
def list_regions():
    region = service().conf.catalog.region
    return jsonify(render.collection("regions", [{
        "id": region, "description": "", "parent_region_id": None,
        "links": render.links(f"/v3/regions/{region}")}], "/v3/regions"))


def _new_resource_spec(key: str) -> dict:
    spec = json_body().get(key)
    if not isinstance(spec, dict):
        raise BadRequest(f"The request body must hold {key}.name.")
    return spec


def _changes(key: str) -> dict:
    spec = json_body().get(key) or {}
    if not isinstance(spec, dict):
        raise BadRequest(f"The request body must hold the {key} object.")
    return spec
