"""/v2.1/flavors: list, show, create and delete (admins), extra specs and
access to private flavors."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from computed.api import render, schemas
from computed.api.common import API_PREFIX, authorize, paginate, runtime
from computed.api.microversion import PUBLIC_FLAVOR_ACCESS, at_least
from computed.db import repository as repo
from computed.db.models import FlavorProject
from computed.domain.flavors import (
    InvalidFlavor,
    parse_create,
    parse_extra_specs,
    parse_is_public_filter,
)
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict, NotFound
from shared.openapi import describe
from shared.validation import checked

SORT_KEYS = {"flavorid": lambda f: f.flavorid, "id": lambda f: f.flavorid,
             "name": lambda f: f.name, "memory_mb": lambda f: f.memory_mb,
             "ram": lambda f: f.memory_mb, "root_gb": lambda f: f.root_gb,
             "disk": lambda f: f.root_gb, "vcpus": lambda f: f.vcpus,
             "swap": lambda f: f.swap, "ephemeral_gb": lambda f: f.ephemeral_gb,
             "rxtx_factor": lambda f: f.rxtx_factor, "created_at": lambda f: f.created_at}

bp = Blueprint("flavors", __name__, url_prefix=API_PREFIX)

# Nova's flavor_access schemas: each action names the project in `tenant`.
TENANT_ACCESS = {"type": "object", "required": ["tenant"],
                 "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255}}}
FLAVOR_ACTION = {"type": "object", "properties": {"addTenantAccess": TENANT_ACCESS,
                                                  "removeTenantAccess": TENANT_ACCESS}}


def _int_arg(name: str) -> int:
    try:
        return int(request.args.get(name, 0))
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{request.args[name]}]") from None


def _listing(detail: bool):
    ctx = context()
    authorize("flavors:index", ctx)
    sort_key = request.args.get("sort_key", "flavorid")
    sort_dir = request.args.get("sort_dir", "asc")
    if sort_key not in SORT_KEYS or sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort key or direction: {sort_key} {sort_dir}")
    try:
        is_public = parse_is_public_filter(request.args.get("is_public"), ctx.is_admin)
    except InvalidFlavor as exc:
        raise BadRequest(str(exc)) from None
    with transaction(runtime().deps.sessions, write=False) as session:
        flavors = repo.list_flavors(
            session, is_public=is_public,
            project_id=ctx.project_id, is_admin=ctx.is_admin,
            min_ram=_int_arg("minRam"), min_disk=_int_arg("minDisk"))
        flavors.sort(key=lambda f: (SORT_KEYS[sort_key](f), f.flavorid),
                     reverse=sort_dir == "desc")
        page, next_links = paginate(flavors, lambda f: f.flavorid,
                                    "flavors/detail" if detail else "flavors")
        view = render.flavor_detail if detail else render.flavor_summary
        body = {"flavors": [view(f) for f in page]}
        if next_links:
            body["flavors_links"] = next_links
        return jsonify(body)


@bp.get("/flavors")
def list_flavors():
    return _listing(detail=False)


@bp.get("/flavors/detail")
def list_flavors_detail():
    return _listing(detail=True)


def _visible(session, flavorid: str):
    ctx = context()
    flavor = repo.get_flavor(session, flavorid)
    if not repo.flavor_usable_by(flavor, ctx.project_id, ctx.is_admin):
        raise NotFound(f"Flavor {flavorid} could not be found.")
    return flavor


@bp.get("/flavors/<flavorid>")
def show_flavor(flavorid):
    authorize("flavors:index", context())
    with transaction(runtime().deps.sessions, write=False) as session:
        return jsonify({"flavor": render.flavor_detail(_visible(session, flavorid))})


@bp.post("/flavors")
@describe(request=schemas.FLAVOR_CREATE)
def create_flavor():
    ctx = context()
    authorize("os-flavor-manage:create", ctx)
    try:
        spec = parse_create(schemas.checked_nova(json_body(), schemas.FLAVOR_CREATE))
    except InvalidFlavor as exc:
        raise BadRequest(str(exc)) from None
    with transaction(runtime().deps.sessions) as session:
        flavor = repo.create_flavor(session, spec)
        runtime().service.notifier.notify(ctx, "flavor.create", resource_type="flavor",
                                         resource_id=flavor.flavorid,
                                         payload=render.flavor_detail(flavor),
                                         session=session)
        return jsonify({"flavor": render.flavor_detail(flavor)})


@bp.delete("/flavors/<flavorid>")
def delete_flavor(flavorid):
    ctx = context()
    authorize("os-flavor-manage:delete", ctx)
    with transaction(runtime().deps.sessions) as session:
        flavor = repo.get_flavor(session, flavorid)
        session.delete(flavor)
        runtime().service.notifier.notify(ctx, "flavor.delete", resource_type="flavor",
                                         resource_id=flavorid,
                                         payload={"flavorid": flavorid}, session=session)
    return Response(status=202)

# --- extra specs ------------------------------------------------------------------
@bp.get("/flavors/<flavorid>/os-extra_specs")
def list_extra_specs(flavorid):
    authorize("os-flavor-extra-specs:index", context(),
                       project_id=context().project_id)
    with transaction(runtime().deps.sessions, write=False) as session:
        return jsonify({"extra_specs": _visible(session, flavorid).specs()})


@bp.post("/flavors/<flavorid>/os-extra_specs")
@describe(request=schemas.EXTRA_SPECS)
def create_extra_specs(flavorid):
    authorize("os-flavor-extra-specs:create", context())
    body = json_body()
    if "extra_specs" not in body:
        raise BadRequest("Invalid input: the body must be {\"extra_specs\": {...}}.")
    schemas.checked_nova(body, schemas.EXTRA_SPECS)
    try:
        specs = parse_extra_specs(body)
    except InvalidFlavor as exc:
        raise BadRequest(str(exc)) from None
    with transaction(runtime().deps.sessions) as session:
        flavor = repo.get_flavor(session, flavorid)
        repo.set_extra_specs(flavor, specs)
        session.flush()
        return jsonify({"extra_specs": flavor.specs()})


@bp.get("/flavors/<flavorid>/os-extra_specs/<key>")
def show_extra_spec(flavorid, key):
    authorize("os-flavor-extra-specs:index", context(),
                       project_id=context().project_id)
    with transaction(runtime().deps.sessions, write=False) as session:
        specs = _visible(session, flavorid).specs()
        if key not in specs:
            raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
        return jsonify({key: specs[key]})


@bp.put("/flavors/<flavorid>/os-extra_specs/<key>")
@describe(request=schemas.EXTRA_SPEC)
def update_extra_spec(flavorid, key):
    authorize("os-flavor-extra-specs:create", context())
    body = json_body()
    if list(body) != [key]:
        raise BadRequest("Request body and URI mismatch")
    schemas.checked_nova(body, schemas.EXTRA_SPEC)
    try:
        specs = parse_extra_specs(body)
    except InvalidFlavor as exc:
        raise BadRequest(str(exc)) from None
    with transaction(runtime().deps.sessions) as session:
        repo.set_extra_specs(repo.get_flavor(session, flavorid), specs)
    return jsonify(specs)


@bp.delete("/flavors/<flavorid>/os-extra_specs/<key>")
def delete_extra_spec(flavorid, key):
    authorize("os-flavor-extra-specs:delete", context())
    with transaction(runtime().deps.sessions) as session:
        flavor = repo.get_flavor(session, flavorid)
        spec = next((s for s in flavor.extra_specs if s.key == key), None)
        if spec is None:
            raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
        flavor.extra_specs.remove(spec)
    return Response(status=202)

# --- access to private flavors ----------------------------------------------------
def _access(flavor) -> dict:
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": p.project_id}
                              for p in flavor.projects]}


@bp.get("/flavors/<flavorid>/os-flavor-access")
def list_access(flavorid):
    authorize("os-flavor-access", context())
    with transaction(runtime().deps.sessions, write=False) as session:
        flavor = repo.get_flavor(session, flavorid)
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        return jsonify(_access(flavor))


@bp.post("/flavors/<flavorid>/action")
@describe(request=FLAVOR_ACTION)
def flavor_action(flavorid):
    body = checked(json_body(), FLAVOR_ACTION)  # Nova's schema comes before its policy
    ctx = context()
    for action, rule in (("addTenantAccess", "os-flavor-access:add_tenant_access"),
                         ("removeTenantAccess", "os-flavor-access:remove_tenant_access")):
        if action in body:
            authorize(rule, ctx)
            tenant = (body[action] or {}).get("tenant")
            if not tenant or not isinstance(tenant, str):
                raise BadRequest(f"Invalid input: {action} needs a 'tenant'.")
            with transaction(runtime().deps.sessions) as session:
                flavor = repo.get_flavor(session, flavorid)
                if flavor.is_public and action == "addTenantAccess" and \
                        at_least(PUBLIC_FLAVOR_ACCESS):  # before 2.7 Nova records it
                    raise Conflict("Can not add access to a public flavor.")
                current = {p.project_id: p for p in flavor.projects}
                if action == "addTenantAccess":
                    if tenant in current:
                        raise Conflict(f"Flavor access already exists for flavor "
                                       f"{flavorid} and project {tenant} combination.")
                    flavor.projects.append(FlavorProject(project_id=tenant))
                else:
                    if tenant not in current:
                        raise NotFound(f"Flavor access not found for {flavorid} / "
                                       f"{tenant} combination.")
                    flavor.projects.remove(current[tenant])
                session.flush()
                return jsonify(_access(flavor))
    raise BadRequest("Invalid flavor action: addTenantAccess or removeTenantAccess.")
