"""shared/openapi.py: the document a service serves is made from its routes,
its auth rule and the schemas its handlers declare; every error body a
service writes matches the error schema the document publishes."""
from __future__ import annotations

import jsonschema
import pytest
from flask import Blueprint, jsonify

from networkd.api import errors as neutron_errors
from shared.api import create_app
from shared.errors import error_body, error_schema
from shared.openapi import add_error_media, describe

THING = {"type": "object", "required": ["thing"], "properties": {"thing": {"type": "string"}}}


def no_validator():
    raise AssertionError("a public route asked for the token validator")


def app_with_routes():
    bp = Blueprint("things", __name__)

    @bp.post("/v1/things")
    @describe(request=THING, response=lambda: THING, status="201")
    def create_thing():
        return jsonify({"thing": "made"}), 201

    @bp.get("/v1/things/<thing_id>/parts/<int:index>")
    def show_part(thing_id: str, index: int):
        return jsonify({})

    @bp.get("/v1")
    def version():
        return jsonify({})

    app = create_app("things", error_style="nova", validator=no_validator,
                     is_public=lambda method, path: (method, path) == ("GET", "/v1"))
    app.register_blueprint(bp)
    return app


def served_document() -> dict:
    response = app_with_routes().test_client().get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_route_with_its_parameters_and_auth():
    document = served_document()
    assert document["openapi"] == "3.1.0"
    part = document["paths"]["/v1/things/{thing_id}/parts/{index}"]["get"]
    assert {p["name"]: p["schema"]["type"] for p in part["parameters"]} == \
        {"thing_id": "string", "index": "integer"}
    assert part["security"] == [{"token": []}]
    assert "security" not in document["paths"]["/v1"]["get"]
    assert set(document["paths"]) == {"/v1", "/v1/things", "/v1/things/{thing_id}/parts/{index}",
                                      "/openapi.json"}


def test_declared_schemas_are_the_published_ones():
    create = served_document()["paths"]["/v1/things"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == THING
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == THING
    error = create["responses"]["4XX"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


def test_an_undescribed_body_route_takes_any_json():
    document = served_document()
    assert "requestBody" not in document["paths"]["/v1"]["get"]
    assert document["components"]["schemas"]["Error"] == error_schema("nova")


@pytest.mark.parametrize("style", ["keystone", "nova", "glance"])
@pytest.mark.parametrize("status", [400, 401, 404, 409, 413])
def test_every_error_body_matches_its_published_schema(style, status):
    jsonschema.validate(error_body(style, status, "why"), error_schema(style))


def test_neutron_errors_match_networkd_schema():
    app = app_with_routes()
    with app.app_context():
        body = neutron_errors.neutron_response(404, "NetworkNotFound", "no such").get_json()
    jsonschema.validate(body, neutron_errors.neutron_error_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(error_body("keystone", 404, "x"), neutron_errors.neutron_error_schema())


def test_another_error_media_type_is_published_beside_json():
    app = app_with_routes()
    add_error_media(app, "text/plain", {"type": "string"})
    document = app.test_client().get("/openapi.json").get_json()
    error = document["paths"]["/v1"]["get"]["responses"]["4XX"]["content"]
    assert error == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                     "text/plain": {"schema": {"type": "string"}}}
