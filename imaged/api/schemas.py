"""/v2/schemas/*: the JSON schemas of what this API accepts and returns."""
from __future__ import annotations

from flask import Blueprint, jsonify

from imaged.domain import schemas
from imaged.runtime import Imaged
from shared.errors import NotFound


def schemas_blueprint(imaged: Imaged) -> Blueprint:
    bp = Blueprint("schemas", __name__)
    disk, container = imaged.formats.disk_formats, imaged.formats.container_formats
    documents = {
        "image": schemas.image_schema(disk, container),
        "images": schemas.images_schema(disk, container),
        "member": schemas.member_schema(),
        "members": schemas.members_schema(),
    }

    @bp.get("/v2/schemas/<name>")
    def schema(name: str):
        if name not in documents:
            raise NotFound(f"No schema named {name} (schemas: {', '.join(documents)}).")
        return jsonify(documents[name])

    return bp
