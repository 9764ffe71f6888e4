"""What each metadefs call does, below HTTP: one short transaction, the
change, an event, and the answer in Glance's JSON shapes (render.py).

The REST layer (imaged/api/metadefs.py) asks policy and reads the request, then
calls one method of Metadefs; tests call the same methods with a
RequestContext and a database, without a server. A namespace the caller
may not see is "not found", as for images; a protected namespace refuses
to be renamed, made private or emptied.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from imaged.metadefs import render
from imaged.metadefs.models import MetadefProperty, MetadefTag, Namespace, ResourceType
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
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.events import Notifier

#: The collections of a namespace that DELETE .../objects, .../properties
#: and .../tags empty at once, with the event each records.
COLLECTIONS = {"objects": "metadef_namespace.delete_objects",
               "properties": "metadef_namespace.delete_properties",
               "tags": "metadef_namespace.delete_tags"}


class Metadefs:
    def __init__(self, sessions: sessionmaker, notifier: Notifier):
        self.sessions, self.notifier = sessions, notifier

    # -- namespaces ---------------------------------------------------------------------------
    def list_namespaces(self, ctx: RequestContext, resource_types: Iterable[str] = (),
                        visibility: str | None = None) -> list[dict]:
        """The namespaces the caller may see, optionally only those of one
        visibility or associated with one of the resource types."""
        wanted_types = set(resource_types)
        with transaction(self.sessions, write=False) as session:
            result = []
            for item in session.scalars(visible_namespaces(session, ctx.project_id,
                                                           ctx.is_admin)):
                if visibility and item.visibility != visibility:
                    continue
                if wanted_types and not wanted_types & {a.resource_type.name
                                                        for a in item.associations}:
                    continue
                result.append(render.namespace(item))
            return result

    def create_namespace(self, ctx: RequestContext, body: dict) -> dict:
        with transaction(self.sessions) as session:
            if isinstance(body.get("namespace"), str) and find_namespace(
                    session, body["namespace"], None, is_admin=True) is not None:
                raise Conflict(f"Metadata definition namespace={body['namespace']} "
                               "already exists.")
            try:
                namespace = build_namespace(session, body, ctx.project_id)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            _flush(session, f"Metadata definition namespace={body.get('namespace')} "
                            "already exists.")
            self._event(ctx, session, "metadef_namespace.create", namespace.namespace)
            return render.namespace(namespace, detail=True)

    def show_namespace(self, ctx: RequestContext, name: str) -> dict:
        with transaction(self.sessions, write=False) as session:
            return render.namespace(_namespace(session, ctx, name), detail=True)

    def update_namespace(self, ctx: RequestContext, name: str, body: dict) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, name)
            if item.protected and body.get("protected", True) and \
                    any(k in body and body[k] != getattr(item, k)
                        for k in ("namespace", "visibility")):
                raise Forbidden(f"Namespace {name} is protected.")
            try:
                apply_namespace_fields(item, body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            if body.get("namespace"):
                item.namespace = body["namespace"]
            _flush(session, f"Metadata definition namespace={body.get('namespace')} "
                            "already exists.")
            self._event(ctx, session, "metadef_namespace.update", item.namespace)
            # Glance answers an update with the namespace's own fields only.
            return render.namespace(item, associations=False)

    def delete_namespace(self, ctx: RequestContext, name: str) -> None:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, name)
            if item.protected:
                raise Forbidden(f"Namespace {name} is protected and cannot be deleted "
                                "(set protected to false first).")
            session.delete(item)
            self._event(ctx, session, "metadef_namespace.delete", name)

    def empty_namespace(self, ctx: RequestContext, name: str, collection: str) -> None:
        """Remove all the objects, properties or tags of a namespace."""
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, name)
            if item.protected:
                raise Forbidden(f"Namespace {name} is protected.")
            getattr(item, collection).clear()
            self._event(ctx, session, COLLECTIONS[collection], name)

    # -- objects ------------------------------------------------------------------------------
    def list_objects(self, ctx: RequestContext, namespace: str) -> list[dict]:
        with transaction(self.sessions, write=False) as session:
            item = _namespace(session, ctx, namespace)
            return [render.object_body(o, namespace) for o in item.objects]

    def create_object(self, ctx: RequestContext, namespace: str, body: dict) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            try:
                created = build_object(body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            item.objects.append(created)
            _flush(session, f"Object {created.name} already exists in {namespace}.")
            self._event(ctx, session, "metadef_object.create", f"{namespace}/{created.name}")
            return render.object_body(created, namespace)

    def show_object(self, ctx: RequestContext, namespace: str, name: str) -> dict:
        with transaction(self.sessions, write=False) as session:
            item = _namespace(session, ctx, namespace)
            return render.object_body(_child(item.objects, name, "object", namespace),
                                      namespace)

    def update_object(self, ctx: RequestContext, namespace: str, name: str,
                      body: dict) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            existing = _child(item.objects, name, "object", namespace)
            try:
                replacement = build_object(body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            existing.name, existing.description = replacement.name, replacement.description
            existing.required, existing.schema = replacement.required, replacement.schema
            _flush(session, f"Object {replacement.name} already exists in {namespace}.")
            self._event(ctx, session, "metadef_object.update", f"{namespace}/{existing.name}")
            return render.object_body(existing, namespace)

    def delete_object(self, ctx: RequestContext, namespace: str, name: str) -> None:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            item.objects.remove(_child(item.objects, name, "object", namespace))
            self._event(ctx, session, "metadef_object.delete", f"{namespace}/{name}")

    # -- properties ---------------------------------------------------------------------------
    def list_properties(self, ctx: RequestContext, namespace: str) -> dict:
        with transaction(self.sessions, write=False) as session:
            return render.properties(_namespace(session, ctx, namespace).properties)

    def create_property(self, ctx: RequestContext, namespace: str, body: dict) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            name = body.get("name")
            if not isinstance(name, str) or not name:
                raise BadRequest("A property needs a name.")
            try:
                created = MetadefProperty(name=name, schema=property_schema(name, body))
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            item.properties.append(created)
            _flush(session, f"Property {name} already exists in {namespace}.")
            self._event(ctx, session, "metadef_property.create", f"{namespace}/{name}")
            return render.property_body(created)

    def show_property(self, ctx: RequestContext, namespace: str, name: str) -> dict:
        with transaction(self.sessions, write=False) as session:
            item = _namespace(session, ctx, namespace)
            return render.property_body(_child(item.properties, name, "property", namespace))

    def update_property(self, ctx: RequestContext, namespace: str, name: str,
                        body: dict) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            existing = _child(item.properties, name, "property", namespace)
            new_name = body.get("name") or name
            try:
                existing.schema = property_schema(new_name, body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            existing.name = new_name
            _flush(session, f"Property {new_name} already exists in {namespace}.")
            self._event(ctx, session, "metadef_property.update", f"{namespace}/{new_name}")
            return render.property_body(existing)

    def delete_property(self, ctx: RequestContext, namespace: str, name: str) -> None:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            item.properties.remove(_child(item.properties, name, "property", namespace))
            self._event(ctx, session, "metadef_property.delete", f"{namespace}/{name}")

    # -- tags ---------------------------------------------------------------------------------
    def list_tags(self, ctx: RequestContext, namespace: str) -> list[dict]:
        with transaction(self.sessions, write=False) as session:
            # Glance lists tags by name only; GET of one tag adds its times.
            return [{"name": t.name} for t in _namespace(session, ctx, namespace).tags]

    def create_tags(self, ctx: RequestContext, namespace: str, body: dict,
                    append: bool) -> list[dict]:
        """Create several tags; they replace the existing ones unless append
        (Glance's X-Openstack-Append header)."""
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
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
            _flush(session, "A tag already exists.")
            self._event(ctx, session, "metadef_tag.create", namespace, tags=names)
            return [{"name": name} for name in names]

    def create_tag(self, ctx: RequestContext, namespace: str, name: str) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            created = MetadefTag(name=tag_name(name))
            item.tags.append(created)
            _flush(session, f"Tag {name} already exists in {namespace}.")
            self._event(ctx, session, "metadef_tag.create", f"{namespace}/{name}")
            return render.tag(created)

    def show_tag(self, ctx: RequestContext, namespace: str, name: str) -> dict:
        with transaction(self.sessions, write=False) as session:
            return render.tag(_child(_namespace(session, ctx, namespace).tags, name, "tag",
                                     namespace))

    def update_tag(self, ctx: RequestContext, namespace: str, name: str, body: dict) -> dict:
        with transaction(self.sessions) as session:
            existing = _child(_namespace(session, ctx, namespace).tags, name, "tag", namespace)
            try:
                existing.name = tag_name(body)
            except MetadefError as exc:
                raise BadRequest(str(exc)) from None
            _flush(session, f"Tag {existing.name} already exists in {namespace}.")
            self._event(ctx, session, "metadef_tag.update", f"{namespace}/{existing.name}")
            return render.tag(existing)

    def delete_tag(self, ctx: RequestContext, namespace: str, name: str) -> None:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            item.tags.remove(_child(item.tags, name, "tag", namespace))
            self._event(ctx, session, "metadef_tag.delete", f"{namespace}/{name}")

    # -- resource types -----------------------------------------------------------------------
    def list_resource_types(self) -> list[dict]:
        with transaction(self.sessions, write=False) as session:
            items = session.scalars(select(ResourceType).order_by(ResourceType.name))
            return [render.resource_type(t) for t in items]

    def list_associations(self, ctx: RequestContext, namespace: str) -> list[dict]:
        with transaction(self.sessions, write=False) as session:
            item = _namespace(session, ctx, namespace)
            return [render.association(a) for a in item.associations]

    def create_association(self, ctx: RequestContext, namespace: str, body: dict) -> dict:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            try:
                created = associate(session, item, body)
            except MetadefError as exc:
                raise (Conflict(str(exc)) if "already" in str(exc)
                       else BadRequest(str(exc))) from None
            session.flush()
            self._event(ctx, session, "metadef_resource_type.create", namespace,
                        resource_type=created.resource_type.name)
            return render.association(created)

    def delete_association(self, ctx: RequestContext, namespace: str, name: str) -> None:
        with transaction(self.sessions) as session:
            item = _namespace(session, ctx, namespace)
            if item.protected:
                raise Forbidden(f"Namespace {namespace} is protected.")
            found = [a for a in item.associations if a.resource_type.name == name]
            if not found:
                raise NotFound(f"Namespace {namespace} is not associated with {name}.")
            item.associations.remove(found[0])
            self._event(ctx, session, "metadef_resource_type.delete", namespace,
                        resource_type=name)

    def _event(self, ctx: RequestContext, session: Session, event_type: str, name: str,
               **payload) -> None:
        self.notifier.notify(ctx, event_type, resource_type="metadef", resource_id=name[:64],
                             payload=payload, session=session)


def _namespace(session: Session, ctx: RequestContext, name: str) -> Namespace:
    """The namespace, if the caller may see it; 404 otherwise."""
    found = find_namespace(session, name, ctx.project_id, ctx.is_admin)
    if found is None:
        raise NotFound(f"Metadata definition namespace={name} was not found.")
    return found


def _child(items, name: str, kind: str, namespace: str):
    for item in items:
        if item.name == name:
            return item
    raise NotFound(f"Metadata definition {kind}={name} was not found in "
                   f"namespace={namespace}.")


def _flush(session: Session, conflict: str) -> None:
    """Send the changes now, so a duplicate name is a 409 with its message."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None
