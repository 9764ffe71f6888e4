"""Projects, users, roles and role assignments (admin by default).

Each handler: authorize with policy, run one short transaction, record an
event, render Keystone's JSON."""
from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from identity import catalog, store
from identity.api import render
from identity.models import DEFAULT_DOMAIN_ID, Assignment, Project, Role, User
from shared.revocation import RevocationEvent
from shared.service import Service


def admin_blueprint(service: Service) -> Blueprint:
    bp = Blueprint("identity_admin", __name__)
    policy, sessions, notifier = service.policy, service.sessions, service.notifier
    rounds = service.conf.identity.password_hash_rounds

    def authorize(rule: str, target: dict | None = None) -> None:
        policy.authorize(f"identity:{rule}", target or {}, context())

    def event(session, event_type: str, resource_type: str, resource_id: str, **payload):
        notifier.notify(context(), event_type, resource_type=resource_type,
                        resource_id=resource_id, payload=payload, session=session)

    def revoke_later_use(session, **fields) -> None:
        store.add_revocation(session, RevocationEvent(issued_before=time.time(), **fields),
                             service.conf.token.expiration)

    def lookup(session, model, key: str, label: str):
        found = store.get_by_id_or_name(session, model, key)
        if found is None:
            raise NotFound(f"Could not find {label}: {key}.")
        return found

    # --- domains: there is exactly one -------------------------------------
    @bp.get("/v3/domains")
    def list_domains():
        name = request.args.get("name")
        items = [render.domain()] if name in (None, "Default") else []
        return jsonify(render.collection("domains", items, "/v3/domains"))

    @bp.get("/v3/domains/<domain_id>")
    def show_domain(domain_id):
        if domain_id not in (DEFAULT_DOMAIN_ID, "Default"):
            raise NotFound(f"Could not find domain: {domain_id}.")
        return jsonify({"domain": render.domain()})

    # --- projects ------------------------------------------------------------
    @bp.get("/v3/projects")
    def list_projects():
        authorize("list_projects")
        with transaction(sessions, write=False) as session:
            query = select(Project).order_by(Project.name)
            if "name" in request.args:
                query = query.where(Project.name == request.args["name"])
            projects = [render.project(p) for p in session.scalars(query)]
        return jsonify(render.collection("projects", projects, "/v3/projects"))

    @bp.get("/v3/projects/<project_id>")
    def show_project(project_id):
        with transaction(sessions, write=False) as session:
            project = lookup(session, Project, project_id, "project")
            authorize("get_project", {"target.project.id": project.id})
            return jsonify({"project": render.project(project)})

    @bp.post("/v3/projects")
    def create_project():
        authorize("create_project")
        spec = _resource_spec("project")
        with transaction(sessions) as session:
            project = Project(id=store.new_id(), name=spec["name"], domain_id=DEFAULT_DOMAIN_ID,
                              description=spec.get("description") or "",
                              enabled=bool(spec.get("enabled", True)))
            session.add(project)
            _flush_unique(session, f"Project {spec['name']} already exists.")
            event(session, "identity.project.created", "project", project.id, name=project.name)
            body = render.project(project)
        return jsonify({"project": body}), 201

    @bp.patch("/v3/projects/<project_id>")
    def update_project(project_id):
        authorize("update_project")
        spec = json_body().get("project") or {}
        with transaction(sessions) as session:
            project = lookup(session, Project, project_id, "project")
            for key in ("name", "description", "enabled"):
                if key in spec:
                    setattr(project, key, spec[key])
            _flush_unique(session, f"Project {spec.get('name')} already exists.")
            if spec.get("enabled") is False:
                revoke_later_use(session, project_id=project.id)
            event(session, "identity.project.updated", "project", project.id)
            return jsonify({"project": render.project(project)})

    @bp.delete("/v3/projects/<project_id>")
    def delete_project(project_id):
        authorize("delete_project")
        with transaction(sessions) as session:
            project = lookup(session, Project, project_id, "project")
            session.delete(project)
            revoke_later_use(session, project_id=project.id)
            event(session, "identity.project.deleted", "project", project.id, name=project.name)
        return Response(status=204)

    # --- users ---------------------------------------------------------------
    @bp.get("/v3/users")
    def list_users():
        authorize("list_users")
        with transaction(sessions, write=False) as session:
            query = select(User).order_by(User.name)
            if "name" in request.args:
                query = query.where(User.name == request.args["name"])
            users = [render.user(u) for u in session.scalars(query)]
        return jsonify(render.collection("users", users, "/v3/users"))

    @bp.get("/v3/users/<user_id>")
    def show_user(user_id):
        with transaction(sessions, write=False) as session:
            user = lookup(session, User, user_id, "user")
            authorize("get_user", {"target.user.id": user.id})
            return jsonify({"user": render.user(user)})

    @bp.post("/v3/users")
    def create_user():
        authorize("create_user")
        spec = _resource_spec("user")
        with transaction(sessions) as session:
            project_id = spec.get("default_project_id")
            if project_id and session.get(Project, project_id) is None:
                raise BadRequest(f"default_project_id {project_id} is not a project.")
            user = store.create_user(session, spec["name"], spec.get("password"), rounds,
                                     default_project_id=project_id, email=spec.get("email"),
                                     description=spec.get("description") or "",
                                     enabled=bool(spec.get("enabled", True)))
            _flush_unique(session, f"User {spec['name']} already exists.")
            event(session, "identity.user.created", "user", user.id, name=user.name)
            body = render.user(user)
        return jsonify({"user": body}), 201

    @bp.patch("/v3/users/<user_id>")
    def update_user(user_id):
        authorize("update_user")
        spec = json_body().get("user") or {}
        with transaction(sessions) as session:
            user = lookup(session, User, user_id, "user")
            for key in ("name", "email", "description", "enabled", "default_project_id"):
                if key in spec:
                    setattr(user, key, spec[key])
            if spec.get("password"):
                user.password_hash = store.hash_password(spec["password"], rounds)
            if spec.get("password") or spec.get("enabled") is False:
                revoke_later_use(session, user_id=user.id)
            _flush_unique(session, f"User {spec.get('name')} already exists.")
            event(session, "identity.user.updated", "user", user.id)
            return jsonify({"user": render.user(user)})

    @bp.delete("/v3/users/<user_id>")
    def delete_user(user_id):
        authorize("delete_user")
        with transaction(sessions) as session:
            user = lookup(session, User, user_id, "user")
            if user.id == context().user_id:
                raise Forbidden("You cannot delete the user you are logged in as.")
            session.delete(user)
            revoke_later_use(session, user_id=user.id)
            event(session, "identity.user.deleted", "user", user.id, name=user.name)
        return Response(status=204)

    @bp.get("/v3/users/<user_id>/projects")
    def user_projects(user_id):
        if user_id != context().user_id:
            authorize("list_user_projects")
        with transaction(sessions, write=False) as session:
            ids = set(session.scalars(select(Assignment.project_id).where(
                Assignment.user_id == user_id)))
            projects = [render.project(p) for p in session.scalars(
                select(Project).where(Project.id.in_(ids)).order_by(Project.name))]
        return jsonify(render.collection("projects", projects, f"/v3/users/{user_id}/projects"))

    # --- roles ---------------------------------------------------------------
    @bp.get("/v3/roles")
    def list_roles():
        authorize("list_roles")
        with transaction(sessions, write=False) as session:
            query = select(Role).order_by(Role.name)
            if "name" in request.args:
                query = query.where(Role.name == request.args["name"])
            roles = [render.role(r) for r in session.scalars(query)]
        return jsonify(render.collection("roles", roles, "/v3/roles"))

    @bp.get("/v3/roles/<role_id>")
    def show_role(role_id):
        authorize("get_role")
        with transaction(sessions, write=False) as session:
            return jsonify({"role": render.role(lookup(session, Role, role_id, "role"))})

    @bp.post("/v3/roles")
    def create_role():
        authorize("create_role")
        spec = _resource_spec("role")
        with transaction(sessions) as session:
            role = Role(id=store.new_id(), name=spec["name"],
                        description=spec.get("description") or "")
            session.add(role)
            _flush_unique(session, f"Role {spec['name']} already exists.")
            event(session, "identity.role.created", "role", role.id, name=role.name)
            body = render.role(role)
        return jsonify({"role": body}), 201

    @bp.delete("/v3/roles/<role_id>")
    def delete_role(role_id):
        authorize("delete_role")
        with transaction(sessions) as session:
            role = lookup(session, Role, role_id, "role")
            if role.name in ("admin", "member", "reader", "service"):
                raise Forbidden(f"Role {role.name} is one of the default roles and cannot "
                                "be deleted.")
            session.delete(role)
            event(session, "identity.role.deleted", "role", role.id, name=role.name)
        return Response(status=204)

    # --- role assignments ------------------------------------------------------
    def grant_parts(session, project_id, user_id, role_id):
        return (lookup(session, Project, project_id, "project"),
                lookup(session, User, user_id, "user"), lookup(session, Role, role_id, "role"))

    @bp.put("/v3/projects/<project_id>/users/<user_id>/roles/<role_id>")
    def create_grant(project_id, user_id, role_id):
        authorize("create_grant")
        with transaction(sessions) as session:
            project, user, role = grant_parts(session, project_id, user_id, role_id)
            store.grant(session, user.id, project.id, role.id)
            event(session, "identity.role_assignment.created", "role_assignment", role.id,
                  user_id=user.id, project_id=project.id, role=role.name)
        return Response(status=204)

    @bp.route("/v3/projects/<project_id>/users/<user_id>/roles/<role_id>",
              methods=["GET", "HEAD"])
    def check_grant(project_id, user_id, role_id):
        authorize("check_grant")
        with transaction(sessions, write=False) as session:
            project, user, role = grant_parts(session, project_id, user_id, role_id)
            if session.get(Assignment, (user.id, project.id, role.id)) is None:
                raise NotFound(f"User {user.name} has no role {role.name} on {project.name}.")
        return Response(status=204)

    @bp.delete("/v3/projects/<project_id>/users/<user_id>/roles/<role_id>")
    def revoke_grant(project_id, user_id, role_id):
        authorize("revoke_grant")
        with transaction(sessions) as session:
            project, user, role = grant_parts(session, project_id, user_id, role_id)
            if not store.revoke_grant(session, user.id, project.id, role.id):
                raise NotFound(f"User {user.name} has no role {role.name} on {project.name}.")
            revoke_later_use(session, user_id=user.id, project_id=project.id)
            event(session, "identity.role_assignment.deleted", "role_assignment", role.id,
                  user_id=user.id, project_id=project.id, role=role.name)
        return Response(status=204)

    @bp.get("/v3/projects/<project_id>/users/<user_id>/roles")
    def list_grants(project_id, user_id):
        authorize("list_grants")
        with transaction(sessions, write=False) as session:
            project = lookup(session, Project, project_id, "project")
            user = lookup(session, User, user_id, "user")
            ids = store.assigned_role_ids(session, user.id, project.id)
            roles = [render.role(r) for r in session.scalars(
                select(Role).where(Role.id.in_(ids)).order_by(Role.name))]
        return jsonify(render.collection("roles", roles, request.path))

    @bp.get("/v3/role_assignments")
    def list_role_assignments():
        authorize("list_role_assignments")
        args = request.args
        effective = "effective" in args and args.get("effective", "").lower() not in ("false", "0")
        names = args.get("include_names", "").lower() in ("1", "true", "")  \
            and "include_names" in args
        with transaction(sessions, write=False) as session:
            query = select(Assignment)
            if args.get("user.id"):
                query = query.where(Assignment.user_id == args["user.id"])
            if args.get("scope.project.id"):
                query = query.where(Assignment.project_id == args["scope.project.id"])
            rows = [(a.user_id, a.project_id, a.role_id) for a in session.scalars(query)]
            if effective:
                rows = sorted({(u, p, r) for u, p, _ in rows
                               for r in store.with_implied(session, store.assigned_role_ids(
                                   session, u, p))})
            if args.get("role.id"):
                rows = [row for row in rows if row[2] == args["role.id"]]
            items = [_assignment(session, u, p, r, names) for u, p, r in rows]
        return jsonify({"role_assignments": items,
                        "links": {"self": request.url, "previous": None, "next": None}})

    # --- the catalog as resources (read only; it comes from identity.conf) ---
    @bp.get("/v3/services")
    def list_services():
        authorize("list_services")
        return jsonify(render.collection("services", catalog.services(service.conf),
                                         "/v3/services"))

    @bp.get("/v3/endpoints")
    def list_endpoints():
        authorize("list_endpoints")
        return jsonify(render.collection("endpoints", catalog.endpoints(service.conf),
                                         "/v3/endpoints"))

    @bp.get("/v3/regions")
    def list_regions():
        region = service.conf.catalog.region
        return jsonify(render.collection("regions", [{"id": region, "description": "",
                                                      "parent_region_id": None}], "/v3/regions"))

    return bp


def _resource_spec(key: str) -> dict:
    spec = json_body().get(key)
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise BadRequest(f"The request body must hold {key}.name.")
    if len(spec["name"]) > 64:
        raise BadRequest(f"{key}.name is longer than 64 characters.")
    domain = spec.get("domain_id")
    if domain not in (None, DEFAULT_DOMAIN_ID):
        raise BadRequest("PocketStack has one domain: 'default'.")
    return spec


def _flush_unique(session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message) from None


def _assignment(session, user_id: str, project_id: str, role_id: str, names: bool) -> dict:
    domain = {"id": DEFAULT_DOMAIN_ID, "name": "Default"}
    role, user, project = {"id": role_id}, {"id": user_id}, {"id": project_id}
    if names:
        role["name"] = getattr(session.get(Role, role_id), "name", None)
        user.update(name=getattr(session.get(User, user_id), "name", None), domain=domain)
        project.update(name=getattr(session.get(Project, project_id), "name", None),
                       domain=domain)
    return {"role": role, "user": user, "scope": {"project": project},
            "links": {"assignment": f"{render.base_url()}/v3/projects/{project_id}/users/"
                                    f"{user_id}/roles/{role_id}"}}
