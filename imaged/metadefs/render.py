"""Metadefs in Glance's JSON shapes."""
from __future__ import annotations

import datetime as dt

from imaged.metadefs.models import (
    MetadefObject,
    MetadefProperty,
    MetadefTag,
    Namespace,
    ResourceType,
    ResourceTypeAssociation,
)

BASE = "/v2/metadefs/namespaces"


def timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def association(item: ResourceTypeAssociation) -> dict:
    body = {"name": item.resource_type.name, "created_at": timestamp(item.created_at),
            "updated_at": timestamp(item.updated_at)}
    if item.prefix:
        body["prefix"] = item.prefix
    if item.properties_target:
        body["properties_target"] = item.properties_target
    return body


def property_body(item: MetadefProperty) -> dict:
    return {"name": item.name, **item.schema}


def properties(items: list[MetadefProperty]) -> dict:
    """Glance keys properties by name and repeats the name inside each."""
    return {item.name: property_body(item) for item in items}


def object_body(item: MetadefObject, namespace: str) -> dict:
    """Glance leaves out a description never given and an empty `required`."""
    body = {"name": item.name, "description": item.description, "required": item.required,
            "properties": item.schema, "created_at": timestamp(item.created_at),
            "updated_at": timestamp(item.updated_at),
            "self": f"{BASE}/{namespace}/objects/{item.name}",
            "schema": "/v2/schemas/metadefs/object"}
    if item.description is None:
        del body["description"]
    if not item.required:
        del body["required"]
    return body


def tag(item: MetadefTag) -> dict:
    return {"name": item.name, "created_at": timestamp(item.created_at),
            "updated_at": timestamp(item.updated_at)}


def namespace(item: Namespace, detail: bool = False, associations: bool = True) -> dict:
    body: dict[str, object] = {"namespace": item.namespace, "display_name": item.display_name,
            "description": item.description, "visibility": item.visibility,
            "protected": item.protected, "owner": item.owner,
            "created_at": timestamp(item.created_at), "updated_at": timestamp(item.updated_at),
            "self": f"{BASE}/{item.namespace}", "schema": "/v2/schemas/metadefs/namespace"}
    body = {k: v for k, v in body.items() if v is not None}
    if item.associations and associations:
        body["resource_type_associations"] = [association(a) for a in item.associations]
    if detail:
        if item.properties:
            body["properties"] = properties(item.properties)
        if item.objects:
            body["objects"] = [object_body(o, item.namespace) for o in item.objects]
        if item.tags:
            body["tags"] = [{"name": t.name} for t in item.tags]
    return body


def resource_type(item: ResourceType) -> dict:
    return {"name": item.name, "created_at": timestamp(item.created_at),
            "updated_at": timestamp(item.updated_at)}
