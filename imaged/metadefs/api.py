"""The metadefs API under /v2/metadefs: namespaces and, inside each, objects,
properties, tags and resource type associations; plus /v2/metadefs/resource_types.

Every handler: authorize, one short transaction, an event, Glance's JSON."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from imaged.metadefs import render
from imaged.metadefs.models import (
    MetadefProperty,
    MetadefTag,
    Namespace,
    ResourceType,
    ResourceTypeAssociation,
)
from imaged.metadefs.repository import (
    MetadefError,
    apply_namespace_fields,
    associate,
    build_namespace,
    build_object,
    find_namespace,
    property_schema,
    tag_name,
    visible_namespaces,
)
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.events import Notifier
from shared.policy import PolicyEnforcer

NS = "/v2/metadefs/namespaces/<namespace>"


def metadefs_blueprint(sessions: sessionmaker, policy: PolicyEnforcer,
                       notifier: Notifier) -> Blueprint:
    bp = Blueprint("metadefs", __name__)

    def authorize(rule: str) -> None:
        policy.authorize(rule, {"project_id": context().project_id}, context())

    def load(session, name: str) -> Namespace:
        ctx = context()
        found = find_namespace(session, name, ctx.project_id, ctx.is_admin)
        if found is None:
            raise NotFound(f"Metadata definition namespace={name} was not found.")
        return found

    def writable(session, name: str) -> Namespace:
        namespace = load(session, name)
        return namespace

    def child(items, name: str, kind: str, namespace: str):
        for item in items:
            if item.name == name:
                return item
        raise NotFound(f"Metadata definition {kind}={name} was not found in "
                       f"namespace={namespace}.")

    def event(session, event_type: str, name: str, **payload):
        notifier.notify(context(), event_type, resource_type="metadef", resource_id=name[:64],
                        payload=payload, session=session)

    def commit(session, conflict: str) -> None:
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(conflict) from None

    # --- namespaces ------------------------------------------------------------
    @bp.get("/v2/metadefs/namespaces")
    def list_namespaces():
        authorize("get_metadef_namespaces")
        ctx = context()
        wanted_types = set(filter(None, request.args.get("resource_types", "").split(",")))
        visibility = request.args.get("visibility")
        with transaction(sessions, write=False) as session:
            items = session.scalars(visible_namespaces(session, ctx.project_id, ctx.is_admin))
            result = []
            for item in items:
                if visibility and item.visibility != visibility:
                    continue
                if wanted_types and not wanted_types & {a.resource_type.name
                                                        for a in item.associations}:
                    continue
                result.append(render.namespace(item))
        return jsonify({"namespaces": result, "first": "/v2/metadefs/namespaces",
                        "schema": "/v2/schemas/metadefs/namespaces"})

    @bp.post("/v2/metadefs/namespaces")
    def create_namespace():
        authorize("add_metadef_namespace")
        body = json_body()
        with transaction(sessions) as session:
            if isinstance(body.get("namespace"), str) and find_namespace(
                    session, body["namespace"], None, is_admin=True) is not None:
                raise Conflict(f"Metadata definition namespace={body['namespace']} "
                               "already exists.")
            try:
                namespace = build_namespace(session, body, context().project_id)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            commit(session, f"Metadata definition namespace={body.get('namespace')} "
                            "already exists.")
            event(session, "metadef_namespace.create", namespace.namespace)
            result = render.namespace(namespace, detail=True)
        return jsonify(result), 201

    @bp.get(NS)
    def show_namespace(namespace):
        authorize("get_metadef_namespace")
        with transaction(sessions, write=False) as session:
            return jsonify(render.namespace(load(session, namespace), detail=True))

    @bp.put(NS)
    def update_namespace(namespace):
        authorize("modify_metadef_namespace")
        body = json_body()
        with transaction(sessions) as session:
            item = writable(session, namespace)
            if item.protected and body.get("protected", True) and \
                    any(k in body and body[k] != getattr(item, k)
                        for k in ("namespace", "visibility")):
                raise Forbidden(f"Namespace {namespace} is protected.")
            try:
                apply_namespace_fields(item, body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            if body.get("namespace"):
                item.namespace = body["namespace"]
            commit(session, f"Metadata definition namespace={body.get('namespace')} "
                            "already exists.")
            event(session, "metadef_namespace.update", item.namespace)
            return jsonify(render.namespace(item, detail=True))

    @bp.delete(NS)
    def delete_namespace(namespace):
        authorize("delete_metadef_namespace")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            if item.protected:
                raise Forbidden(f"Namespace {namespace} is protected and cannot be deleted "
                                "(set protected to false first).")
            session.delete(item)
            event(session, "metadef_namespace.delete", namespace)
        return Response(status=204)

    def delete_all(namespace: str, attribute: str, rule: str, event_type: str):
        authorize(rule)
        with transaction(sessions) as session:
            item = writable(session, namespace)
            if item.protected:
                raise Forbidden(f"Namespace {namespace} is protected.")
            getattr(item, attribute).clear()
            event(session, event_type, namespace)
        return Response(status=204)

    @bp.delete(NS + "/objects")
    def delete_objects(namespace):
        return delete_all(namespace, "objects", "delete_metadef_object",
                          "metadef_namespace.delete_objects")

    @bp.delete(NS + "/properties")
    def delete_properties(namespace):
        return delete_all(namespace, "properties", "remove_metadef_property",
                          "metadef_namespace.delete_properties")

    @bp.delete(NS + "/tags")
    def delete_tags(namespace):
        return delete_all(namespace, "tags", "delete_metadef_tags",
                          "metadef_namespace.delete_tags")

    # --- objects ---------------------------------------------------------------
    @bp.get(NS + "/objects")
    def list_objects(namespace):
        authorize("get_metadef_objects")
        with transaction(sessions, write=False) as session:
            item = load(session, namespace)
            return jsonify({"objects": [render.object_body(o, namespace) for o in item.objects],
                            "schema": "/v2/schemas/metadefs/objects"})

    @bp.post(NS + "/objects")
    def create_object(namespace):
        authorize("add_metadef_object")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            try:
                created = build_object(json_body())
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            item.objects.append(created)
            commit(session, f"Object {created.name} already exists in {namespace}.")
            event(session, "metadef_object.create", f"{namespace}/{created.name}")
            result = render.object_body(created, namespace)
        return jsonify(result), 201

    @bp.get(NS + "/objects/<name>")
    def show_object(namespace, name):
        authorize("get_metadef_object")
        with transaction(sessions, write=False) as session:
            item = load(session, namespace)
            return jsonify(render.object_body(child(item.objects, name, "object", namespace),
                                              namespace))

    @bp.put(NS + "/objects/<name>")
    def update_object(namespace, name):
        authorize("modify_metadef_object")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            existing = child(item.objects, name, "object", namespace)
            try:
                replacement = build_object(json_body())
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            existing.name, existing.description = replacement.name, replacement.description
            existing.required, existing.schema = replacement.required, replacement.schema
            commit(session, f"Object {replacement.name} already exists in {namespace}.")
            event(session, "metadef_object.update", f"{namespace}/{existing.name}")
            return jsonify(render.object_body(existing, namespace))

    @bp.delete(NS + "/objects/<name>")
    def delete_object(namespace, name):
        authorize("delete_metadef_object")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            item.objects.remove(child(item.objects, name, "object", namespace))
            event(session, "metadef_object.delete", f"{namespace}/{name}")
        return Response(status=204)

    # --- properties --------------------------------------------------------------
    @bp.get(NS + "/properties")
    def list_properties(namespace):
        authorize("get_metadef_properties")
        with transaction(sessions, write=False) as session:
            return jsonify({"properties": render.properties(load(session, namespace).properties)})

    @bp.post(NS + "/properties")
    def create_property(namespace):
        authorize("add_metadef_property")
        body = json_body()
        with transaction(sessions) as session:
            item = writable(session, namespace)
            name = body.get("name")
            if not isinstance(name, str) or not name:
                raise BadRequest("A property needs a name.")
            try:
                created = MetadefProperty(name=name, schema=property_schema(name, body))
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            item.properties.append(created)
            commit(session, f"Property {name} already exists in {namespace}.")
            event(session, "metadef_property.create", f"{namespace}/{name}")
            result = render.property_body(created)
        return jsonify(result), 201

    @bp.get(NS + "/properties/<name>")
    def show_property(namespace, name):
        authorize("get_metadef_property")
        with transaction(sessions, write=False) as session:
            item = load(session, namespace)
            return jsonify(render.property_body(child(item.properties, name, "property",
                                                      namespace)))

    @bp.put(NS + "/properties/<name>")
    def update_property(namespace, name):
        authorize("modify_metadef_property")
        body = json_body()
        with transaction(sessions) as session:
            item = writable(session, namespace)
            existing = child(item.properties, name, "property", namespace)
            new_name = body.get("name") or name
            try:
                existing.schema = property_schema(new_name, body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            existing.name = new_name
            commit(session, f"Property {new_name} already exists in {namespace}.")
            event(session, "metadef_property.update", f"{namespace}/{new_name}")
            return jsonify(render.property_body(existing))

    @bp.delete(NS + "/properties/<name>")
    def delete_property(namespace, name):
        authorize("remove_metadef_property")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            item.properties.remove(child(item.properties, name, "property", namespace))
            event(session, "metadef_property.delete", f"{namespace}/{name}")
        return Response(status=204)

    # --- tags --------------------------------------------------------------------
    @bp.get(NS + "/tags")
    def list_tags(namespace):
        authorize("get_metadef_tags")
        with transaction(sessions, write=False) as session:
            return jsonify({"tags": [render.tag(t) for t in load(session, namespace).tags]})

    @bp.post(NS + "/tags")
    def create_tags(namespace):
        """Create several tags; they replace the existing ones unless the
        X-Openstack-Append header is true (as in Glance)."""
        authorize("add_metadef_tags")
        body = json_body()
        append = request.headers.get("X-Openstack-Append", "false").lower() == "true"
        with transaction(sessions) as session:
            item = writable(session, namespace)
            try:
                names = [tag_name(t) for t in body.get("tags") or []]
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            if len(set(names)) != len(names):
                raise Conflict("The same tag is given twice.")
            if not append:
                item.tags.clear()
                session.flush()
            existing = {t.name for t in item.tags}
            for name in names:
                if name in existing:
                    raise Conflict(f"Tag {name} already exists in {namespace}.")
                item.tags.append(MetadefTag(name=name))
            commit(session, "A tag already exists.")
            event(session, "metadef_tag.create", namespace, tags=names)
            result = {"tags": [{"name": name} for name in names]}
        return jsonify(result), 201

    @bp.post(NS + "/tags/<name>")
    def create_tag(namespace, name):
        authorize("add_metadef_tag")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            created = MetadefTag(name=tag_name(name))
            item.tags.append(created)
            commit(session, f"Tag {name} already exists in {namespace}.")
            event(session, "metadef_tag.create", f"{namespace}/{name}")
            result = render.tag(created)
        return jsonify(result), 201

    @bp.get(NS + "/tags/<name>")
    def show_tag(namespace, name):
        authorize("get_metadef_tag")
        with transaction(sessions, write=False) as session:
            return jsonify(render.tag(child(load(session, namespace).tags, name, "tag",
                                            namespace)))

    @bp.put(NS + "/tags/<name>")
    def update_tag(namespace, name):
        authorize("modify_metadef_tag")
        body = json_body()
        with transaction(sessions) as session:
            existing = child(writable(session, namespace).tags, name, "tag", namespace)
            try:
                existing.name = tag_name(body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            commit(session, f"Tag {existing.name} already exists in {namespace}.")
            event(session, "metadef_tag.update", f"{namespace}/{existing.name}")
            return jsonify(render.tag(existing))

    @bp.delete(NS + "/tags/<name>")
    def delete_tag(namespace, name):
        authorize("delete_metadef_tag")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            item.tags.remove(child(item.tags, name, "tag", namespace))
            event(session, "metadef_tag.delete", f"{namespace}/{name}")
        return Response(status=204)

    # --- resource types ----------------------------------------------------------
    @bp.get("/v2/metadefs/resource_types")
    def list_resource_types():
        authorize("list_metadef_resource_types")
        with transaction(sessions, write=False) as session:
            items = session.scalars(select(ResourceType).order_by(ResourceType.name))
            return jsonify({"resource_types": [render.resource_type(t) for t in items]})

    @bp.get(NS + "/resource_types")
    def list_associations(namespace):
        authorize("get_metadef_resource_type")
        with transaction(sessions, write=False) as session:
            item = load(session, namespace)
            return jsonify({"resource_type_associations":
                            [render.association(a) for a in item.associations]})

    @bp.post(NS + "/resource_types")
    def create_association(namespace):
        authorize("add_metadef_resource_type_association")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            try:
                created = associate(session, item, json_body())
            except MetadefError as exc:
                raise Conflict(str(exc)) if "already" in str(exc) else BadRequest(str(exc))
            session.flush()
            event(session, "metadef_resource_type.create", namespace,
                  resource_type=created.resource_type.name)
            result = render.association(created)
        return jsonify(result), 201

    @bp.delete(NS + "/resource_types/<name>")
    def delete_association(namespace, name):
        authorize("remove_metadef_resource_type_association")
        with transaction(sessions) as session:
            item = writable(session, namespace)
            if item.protected:
                raise Forbidden(f"Namespace {namespace} is protected.")
            found = [a for a in item.associations if a.resource_type.name == name]
            if not found:
                raise NotFound(f"Namespace {namespace} is not associated with {name}.")
            item.associations.remove(found[0])
            event(session, "metadef_resource_type.delete", namespace, resource_type=name)
        return Response(status=204)

    return bp


__all__ = ["metadefs_blueprint", "ResourceTypeAssociation"]
