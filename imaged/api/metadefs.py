"""The metadefs API under /v2/metadefs: namespaces and, inside each, objects,
properties, tags and resource type associations; plus /v2/metadefs/resource_types.

Every handler asks policy, reads the request, calls one method of
metadefs/service.py (one short transaction, an event) and answers with
Glance's JSON."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from imaged.api import runtime
from imaged.metadefs.service import Metadefs
from shared.api import context, json_body
from shared.strutils import bool_param

NS = "/v2/metadefs/namespaces/<namespace>"
APPEND_HEADER = "X-Openstack-Append"

bp = Blueprint("metadefs", __name__)


def allowed(rule: str) -> Metadefs:
    """The metadefs of this process, once policy allows the caller the rule."""
    service = runtime().service
    service.policy.authorize(rule, {"project_id": context().project_id}, context())
    return Metadefs(service.sessions, service.notifier)


def created(body: dict) -> tuple[Response, int]:
    return jsonify(body), 201


def no_content() -> Response:
    return Response(status=204)


# --- namespaces ----------------------------------------------------------------------------
@bp.get("/v2/metadefs/namespaces")
def list_namespaces():
    metadefs = allowed("get_metadef_namespaces")
    wanted_types = filter(None, request.args.get("resource_types", "").split(","))
    namespaces = metadefs.list_namespaces(context(), wanted_types,
                                          request.args.get("visibility"))
    # Glance's first link repeats the query (the filters and the limit).
    query = urlencode(list(request.args.items(multi=True)))
    return jsonify({"namespaces": namespaces,
                    "first": "/v2/metadefs/namespaces" + (f"?{query}" if query else ""),
                    "schema": "/v2/schemas/metadefs/namespaces"})


@bp.post("/v2/metadefs/namespaces")
def create_namespace():
    metadefs = allowed("add_metadef_namespace")
    body, status = created(metadefs.create_namespace(context(), json_body()))
    # Glance names the new namespace in Location, as a 201 should.
    body.headers["Location"] = (f"{request.host_url.rstrip('/')}/v2/metadefs/namespaces/"
                                f"{body.json['namespace']}")
    return body, status


@bp.get(NS)
def show_namespace(namespace):
    return jsonify(allowed("get_metadef_namespace").show_namespace(context(), namespace))


@bp.put(NS)
def update_namespace(namespace):
    metadefs = allowed("modify_metadef_namespace")
    return jsonify(metadefs.update_namespace(context(), namespace, json_body()))


@bp.delete(NS)
def delete_namespace(namespace):
    allowed("delete_metadef_namespace").delete_namespace(context(), namespace)
    return no_content()


@bp.delete(NS + "/objects")
def delete_objects(namespace):
    allowed("delete_metadef_object").empty_namespace(context(), namespace, "objects")
    return no_content()


@bp.delete(NS + "/properties")
def delete_properties(namespace):
    allowed("remove_metadef_property").empty_namespace(context(), namespace, "properties")
    return no_content()


@bp.delete(NS + "/tags")
def delete_tags(namespace):
    allowed("delete_metadef_tags").empty_namespace(context(), namespace, "tags")
    return no_content()


# --- objects -------------------------------------------------------------------------------
@bp.get(NS + "/objects")
def list_objects(namespace):
    objects = allowed("get_metadef_objects").list_objects(context(), namespace)
    # Glance's list of objects names its schema without the leading slash.
    return jsonify({"objects": objects, "schema": "v2/schemas/metadefs/objects"})


@bp.post(NS + "/objects")
def create_object(namespace):
    metadefs = allowed("add_metadef_object")
    return created(metadefs.create_object(context(), namespace, json_body()))


@bp.get(NS + "/objects/<name>")
def show_object(namespace, name):
    return jsonify(allowed("get_metadef_object").show_object(context(), namespace, name))


@bp.put(NS + "/objects/<name>")
def update_object(namespace, name):
    metadefs = allowed("modify_metadef_object")
    return jsonify(metadefs.update_object(context(), namespace, name, json_body()))


@bp.delete(NS + "/objects/<name>")
def delete_object(namespace, name):
    allowed("delete_metadef_object").delete_object(context(), namespace, name)
    return no_content()


# --- properties ----------------------------------------------------------------------------
@bp.get(NS + "/properties")
def list_properties(namespace):
    properties = allowed("get_metadef_properties").list_properties(context(), namespace)
    return jsonify({"properties": properties})


@bp.post(NS + "/properties")
def create_property(namespace):
    metadefs = allowed("add_metadef_property")
    return created(metadefs.create_property(context(), namespace, json_body()))


@bp.get(NS + "/properties/<name>")
def show_property(namespace, name):
    return jsonify(allowed("get_metadef_property").show_property(context(), namespace, name))


@bp.put(NS + "/properties/<name>")
def update_property(namespace, name):
    metadefs = allowed("modify_metadef_property")
    return jsonify(metadefs.update_property(context(), namespace, name, json_body()))


@bp.delete(NS + "/properties/<name>")
def delete_property(namespace, name):
    allowed("remove_metadef_property").delete_property(context(), namespace, name)
    return no_content()


# --- tags ----------------------------------------------------------------------------------
@bp.get(NS + "/tags")
def list_tags(namespace):
    return jsonify({"tags": allowed("get_metadef_tags").list_tags(context(), namespace)})


@bp.post(NS + "/tags")
def create_tags(namespace):
    """Create several tags; they replace the existing ones unless the
    X-Openstack-Append header is true (a word that is not a boolean is 400)."""
    metadefs = allowed("add_metadef_tags")
    body = json_body()
    append = bool_param(APPEND_HEADER, request.headers.get(APPEND_HEADER, "false"))
    return created({"tags": metadefs.create_tags(context(), namespace, body, append)})


@bp.post(NS + "/tags/<name>")
def create_tag(namespace, name):
    return created(allowed("add_metadef_tag").create_tag(context(), namespace, name))


@bp.get(NS + "/tags/<name>")
def show_tag(namespace, name):
    return jsonify(allowed("get_metadef_tag").show_tag(context(), namespace, name))


@bp.put(NS + "/tags/<name>")
def update_tag(namespace, name):
    metadefs = allowed("modify_metadef_tag")
    return jsonify(metadefs.update_tag(context(), namespace, name, json_body()))


@bp.delete(NS + "/tags/<name>")
def delete_tag(namespace, name):
    allowed("delete_metadef_tag").delete_tag(context(), namespace, name)
    return no_content()


# --- resource types ------------------------------------------------------------------------
@bp.get("/v2/metadefs/resource_types")
def list_resource_types():
    resource_types = allowed("list_metadef_resource_types").list_resource_types()
    return jsonify({"resource_types": resource_types})


@bp.get(NS + "/resource_types")
def list_associations(namespace):
    associations = allowed("get_metadef_resource_type").list_associations(context(), namespace)
    return jsonify({"resource_type_associations": associations})


@bp.post(NS + "/resource_types")
def create_association(namespace):
    metadefs = allowed("add_metadef_resource_type_association")
    return created(metadefs.create_association(context(), namespace, json_body()))


@bp.delete(NS + "/resource_types/<name>")
def delete_association(namespace, name):
    allowed("remove_metadef_resource_type_association").delete_association(
        context(), namespace, name)
    return no_content()
