"""/v3/{project_id}/types: volume types. Every type lives on the same file
backend; a type is a label (and extra_specs) an admin can add. The default
type, __DEFAULT__, always exists."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from shared.api import json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict
from volumed import repo
from volumed.api import render
from volumed.api.common import authorize, check_url_project
from volumed.flows import Deps
from volumed.models import Volume, VolumeType


def types_blueprint(deps: Deps, policy) -> Blueprint:
    bp = Blueprint("volume_types", __name__, url_prefix="/v3/<project_id>")

    @bp.get("/types")
    def list_types(project_id):
        check_url_project(project_id)
        authorize(policy, "get_type", project_id)
        with transaction(deps.sessions, write=False) as session:
            return jsonify({"volume_types": [render.volume_type(t)
                                             for t in repo.list_types(session)]})

    @bp.get("/types/default")
    def default_type(project_id):
        check_url_project(project_id)
        authorize(policy, "get_type", project_id)
        with transaction(deps.sessions, write=False) as session:
            found = repo.get_type(session, deps.settings.default_type)
            return jsonify({"volume_type": render.volume_type(found)})

    @bp.get("/types/<type_id>")
    def show_type(project_id, type_id):
        check_url_project(project_id)
        authorize(policy, "get_type", project_id)
        with transaction(deps.sessions, write=False) as session:
            return jsonify({"volume_type": render.volume_type(repo.get_type(session, type_id))})

    @bp.post("/types")
    def create_type(project_id):
        check_url_project(project_id)
        authorize(policy, "manage_types", project_id)
        spec = json_body().get("volume_type")
        if not isinstance(spec, dict) or not spec.get("name"):
            raise BadRequest("Invalid input received: 'volume_type' with a 'name' is "
                             "required.")
        with transaction(deps.sessions) as session:
            if any(t.name == spec["name"] for t in repo.list_types(session)):
                raise Conflict(f"Volume Type {spec['name']} already exists.")
            created = VolumeType(id=repo.new_id(), name=spec["name"],
                                 description=spec.get("description"),
                                 is_public=spec.get("os-volume-type-access:is_public", True)
                                 is not False,
                                 extra_specs={str(k): str(v) for k, v in
                                              (spec.get("extra_specs") or {}).items()})
            session.add(created)
            return jsonify({"volume_type": render.volume_type(created)})

    @bp.put("/types/<type_id>")
    def update_type(project_id, type_id):
        check_url_project(project_id)
        authorize(policy, "manage_types", project_id)
        spec = json_body().get("volume_type") or {}
        with transaction(deps.sessions) as session:
            found = repo.get_type(session, type_id)
            for key in ("name", "description"):
                if key in spec:
                    setattr(found, key, spec[key])
            if "is_public" in spec:
                found.is_public = bool(spec["is_public"])
            return jsonify({"volume_type": render.volume_type(found)})

    @bp.delete("/types/<type_id>")
    def delete_type(project_id, type_id):
        check_url_project(project_id)
        authorize(policy, "manage_types", project_id)
        with transaction(deps.sessions) as session:
            found = repo.get_type(session, type_id)
            if found.name == deps.settings.default_type:
                raise BadRequest("Invalid volume type: the default volume type cannot be "
                                 "deleted.")
            in_use = session.query(Volume).filter(Volume.volume_type_id == found.id,
                                                  Volume.deleted.is_(False)).count()
            if in_use:
                raise BadRequest(f"Invalid volume type: {in_use} volume(s) still use it.")
            session.delete(found)
        return Response(status=202)

    @bp.get("/types/<type_id>/extra_specs")
    def extra_specs(project_id, type_id):
        check_url_project(project_id)
        authorize(policy, "get_type", project_id)
        with transaction(deps.sessions, write=False) as session:
            return jsonify({"extra_specs": dict(repo.get_type(session, type_id).extra_specs
                                                or {})})

    @bp.post("/types/<type_id>/extra_specs")
    def set_extra_specs(project_id, type_id):
        check_url_project(project_id)
        authorize(policy, "manage_types", project_id)
        specs = json_body().get("extra_specs")
        if not isinstance(specs, dict):
            raise BadRequest("Invalid input received: 'extra_specs' must be an object.")
        with transaction(deps.sessions) as session:
            found = repo.get_type(session, type_id)
            found.extra_specs = {**(found.extra_specs or {}),
                                 **{str(k): str(v) for k, v in specs.items()}}
            return jsonify({"extra_specs": found.extra_specs})

    return bp
