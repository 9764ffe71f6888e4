"""/v2/schemas/*: the JSON schemas of what this API accepts and returns."""
from __future__ import annotations

from functools import cache

from flask import Blueprint, jsonify

from imaged.api import runtime
from imaged.domain import schemas
from shared.errors import NotFound

NAMES = ("image", "images", "member", "members")

bp = Blueprint("schemas", __name__)


@bp.get("/v2/schemas/<name>")
def schema(name: str):
    if name not in NAMES:
        raise NotFound(f"No schema named {name} (schemas: {', '.join(NAMES)}).")
    return jsonify(current(name))


def current(name: str) -> dict:
    """The schema `name` for this imaged's configured formats (in a request)."""
    formats = runtime().formats
    return documents(formats.disk_formats, formats.container_formats)[name]


def of(name: str):
    """The schema `name`, made when asked: for a route's OpenAPI description,
    so that the published document shows the very schema served here."""
    return lambda: current(name)


@cache
def documents(disk_formats: tuple[str, ...], container_formats: tuple[str, ...]) -> dict:
    """The schemas for these formats (built once: clients ask for them often)."""
    return {
        "image": schemas.image_schema(disk_formats, container_formats),
        "images": schemas.images_schema(disk_formats, container_formats),
        "member": schemas.member_schema(),
        "members": schemas.members_schema(),
    }
