"""Metadefs data access: building namespaces and their children from
request bodies (or definition files), and finding what a caller may see."""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from imaged.metadefs.models import (
    MetadefObject,
    MetadefProperty,
    MetadefTag,
    Namespace,
    ResourceType,
    ResourceTypeAssociation,
)

VISIBILITIES = ("public", "private")
PROPERTY_KEYS = ("title", "description", "type", "enum", "default", "minimum", "maximum",
                 "minLength", "maxLength", "pattern", "items", "readonly", "operators",
                 "uniqueItems", "minItems", "maxItems", "additionalItems")
PROPERTY_TYPES = ("string", "integer", "number", "boolean", "array", "object")


Listed = TypeVar("Listed", dict, list)


class MetadefError(ValueError):
    """A request body that cannot become a metadef; the message says why."""


def visible_namespaces(session: Session, project_id: str | None, is_admin: bool):
    query = select(Namespace).order_by(Namespace.namespace)
    if not is_admin:
        query = query.where(or_(Namespace.visibility == "public",
                                Namespace.owner == project_id))
    return query


def find_namespace(session: Session, name: str, project_id: str | None,
                   is_admin: bool) -> Namespace | None:
    """The namespace if it exists and the caller may see it (a private one of
    another project is "not found", as for images)."""
    found = session.scalars(select(Namespace).where(Namespace.namespace == name)).first()
    if found is None:
        return None
    if found.visibility != "public" and not is_admin and found.owner != project_id:
        return None
    return found


def property_schema(name: str, body: dict) -> dict:
    if not isinstance(body, dict):
        raise MetadefError(f"Property {name} must be a JSON object.")
    kind = body.get("type")
    if kind not in PROPERTY_TYPES:
        raise MetadefError(f"Property {name}: type must be one of {', '.join(PROPERTY_TYPES)}.")
    if not body.get("title"):
        raise MetadefError(f"Property {name}: title is required.")
    return {key: body[key] for key in PROPERTY_KEYS if key in body}


def resource_type_named(session: Session, name: str) -> ResourceType:
    found = session.scalars(select(ResourceType).where(ResourceType.name == name)).first()
    if found is None:
        found = ResourceType(name=name)
        session.add(found)
        session.flush()
    return found


def listed(body: dict, key: str, kind: type[Listed]) -> Listed:
    """body[key] when it is a `kind` (a JSON object or array), empty when
    absent or null, else the 400 that says what it must be."""
    value = body.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise MetadefError(f"{key} must be a JSON {'object' if kind is dict else 'array'}.")
    return value


def apply_namespace_fields(namespace: Namespace, body: dict) -> None:
    for key in ("display_name", "description"):
        if key in body and not isinstance(body[key], str | None):
            raise MetadefError(f"{key} must be a string.")
    for key in ("display_name", "description", "visibility", "protected"):
        if key in body:
            setattr(namespace, key, body[key])
    if namespace.visibility not in VISIBILITIES:
        raise MetadefError(f"visibility must be one of {', '.join(VISIBILITIES)}.")
    if not isinstance(namespace.protected, bool):
        raise MetadefError("protected must be true or false.")


def build_namespace(session: Session, body: dict, owner: str | None) -> Namespace:
    """A namespace with everything the body holds (properties, objects, tags,
    resource type associations), added to the session."""
    name = body.get("namespace")
    if not isinstance(name, str) or not name or len(name) > 80:
        raise MetadefError("namespace is required: a name of 1 to 80 characters.")
    namespace = Namespace(namespace=name, owner=body.get("owner", owner),
                          visibility="private", protected=False)
    apply_namespace_fields(namespace, body)
    session.add(namespace)
    for prop_name, prop_body in listed(body, "properties", dict).items():
        namespace.properties.append(MetadefProperty(name=prop_name,
                                                    schema=property_schema(prop_name, prop_body)))
    for object_body in listed(body, "objects", list):
        namespace.objects.append(build_object(object_body))
    for tag_body in listed(body, "tags", list):
        namespace.tags.append(MetadefTag(name=tag_name(tag_body)))
    session.flush()
    for association in listed(body, "resource_type_associations", list):
        associate(session, namespace, association)
    return namespace


def build_object(body: dict) -> MetadefObject:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise MetadefError("An object needs a name.")
    props = {key: property_schema(key, value)
             for key, value in listed(body, "properties", dict).items()}
    if not isinstance(body.get("description"), str | None):
        raise MetadefError("description must be a string.")
    return MetadefObject(name=name, description=body.get("description"),
                         required=list(listed(body, "required", list)), schema=props)


def tag_name(body) -> str:
    name = body.get("name") if isinstance(body, dict) else body
    if not isinstance(name, str) or not name or len(name) > 80:
        raise MetadefError("A tag needs a name of 1 to 80 characters.")
    return name


def associate(session: Session, namespace: Namespace, body: dict) -> ResourceTypeAssociation:
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise MetadefError("A resource type association needs the resource type's name.")
    resource_type = resource_type_named(session, name)
    if session.get(ResourceTypeAssociation, (namespace.id, resource_type.id)) is not None:
        raise MetadefError(f"Namespace {namespace.namespace} is already associated with "
                           f"{name}.")
    association = ResourceTypeAssociation(namespace_id=namespace.id,
                                          resource_type_id=resource_type.id,
                                          prefix=body.get("prefix"),
                                          properties_target=body.get("properties_target"))
    association.resource_type = resource_type
    session.add(association)
    namespace.associations.append(association)
    return association
