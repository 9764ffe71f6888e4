"""Error bodies the way Glance's clients expect them.

Glance (through webob) answers an error in JSON only to a client that asks
for JSON (Accept: application/json, as openstacksdk does); others get text.
python-glanceclient depends on that: it cannot read the flat JSON error body
(it looks for nested objects) but shows a text one well. So imaged keeps
shared's Glance-style JSON for JSON clients and turns it into
"403 Forbidden\\n\\n<message>" for everyone else (glanceclient, curl).
"""
from __future__ import annotations

from flask import Flask, request

from shared.openapi import add_error_media


def wants_json() -> bool:
    return "application/json" in request.headers.get("Accept", "")


def negotiate_error_bodies(app: Flask) -> None:
    add_error_media(app, "text/plain", {"type": "string"})
    @app.after_request
    def _plain_text_for_non_json_clients(response):
        if response.status_code >= 400 and response.is_json and not wants_json():
            body = response.get_json(silent=True) or {}
            if "message" in body and "code" in body:
                response.set_data(f"{body['code']}\n\n{body['message']}\n\n")
                response.mimetype = "text/plain"
        return response
