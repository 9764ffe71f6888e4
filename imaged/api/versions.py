"""GET / and GET /versions: which Image API versions imaged speaks.

The clients pick the highest v2.x entry and use its `self` link as the base
URL of every image call, so the link is built from the host the request came
to. imaged implements the v2 calls up to 2.7 (hidden images, multihash);
the later ones (import, multi-store, cache) are not there yet, so it does not
claim them.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

VERSIONS = [("v2.7", "CURRENT"), ("v2.6", "SUPPORTED"), ("v2.5", "SUPPORTED"),
            ("v2.4", "SUPPORTED"), ("v2.3", "SUPPORTED"), ("v2.2", "SUPPORTED"),
            ("v2.1", "SUPPORTED"), ("v2.0", "SUPPORTED")]


def versions_document() -> dict:
    href = request.host_url.rstrip("/") + "/v2/"
    return {"versions": [{"id": version, "status": status,
                          "links": [{"rel": "self", "href": href}]}
                         for version, status in VERSIONS]}


def versions_blueprint() -> Blueprint:
    blueprint = Blueprint("versions", __name__)

    @blueprint.get("/")
    def root():
        response = jsonify(versions_document())
        response.status_code = 300
        return response

    @blueprint.get("/versions")
    def versions():
        return jsonify(versions_document())

    return blueprint
