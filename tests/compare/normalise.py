"""Turn one answer into something comparable across the two sides.

What legitimately differs between two deployments is replaced by a
placeholder: the ids of the seeded resources (by their name in side.ids,
so that `<project_alpha>` on one side meets `<project_alpha>` on the other),
the services' base URLs, other UUIDs and 32-hex ids, times, tokens and
generated secrets. What is left is the API's behaviour."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}")
AUDIT_ID = re.compile(r"^[A-Za-z0-9_\-]{22}$")
REQUEST_ID = re.compile(r"req-<uuid>")

# Headers clients read; the value is compared after normalisation.
COMPARED_HEADERS = ("content-type", "location", "openstack-image-import-methods",
                    "openstack-image-store-ids", "x-subject-token", "vary",
                    "content-md5", "content-range", "www-authenticate",
                    "x-openstack-request-id", "content-length")


@dataclass
class Answer:
    """One response, normalised."""

    status: int
    headers: dict[str, str]
    json: object = None          # the parsed body, normalised, if it was JSON
    text: str | None = None      # the body, normalised, if it was not JSON
    raw: dict = field(default_factory=dict)   # status, headers and body as received (report)


class Normaliser:
    """Placeholders for one side: its ids (longest first) and base URLs."""

    def __init__(self, ids: dict[str, str], urls: dict[str, str]):
        self._replacements = sorted(((value, f"<{name}>") for name, value in ids.items()
                                     if value), key=lambda pair: -len(pair[0]))
        self._urls = sorted(urls.items(), key=lambda pair: -len(pair[1]))

    def text(self, value: str) -> str:
        for name, url in self._urls:
            value = value.replace(url, f"<{name}>")
        for real, placeholder in self._replacements:
            value = value.replace(real, placeholder)
        value = FERNET.sub("<token>", value)
        value = UUID.sub("<uuid>", value)
        value = HEX32.sub("<id32>", value)
        value = TIME.sub("<time>", value)
        return value

    def value(self, value: object, key: str = "") -> object:
        if isinstance(value, str):
            if key in ("audit_ids", "audit_chain_id") and AUDIT_ID.match(value):
                return "<audit_id>"
            if key == "secret":      # an application or EC2 credential's, made anew
                return "<secret>"
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(item, key) for item in value]
        return value

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> Answer:
        lowered = {k.lower(): v for k, v in headers.items()}
        raw = {"status": status, "headers": lowered,
               "body": body[:4000].decode("utf-8", "replace")}
        kept = {name: self.text(lowered[name]) for name in COMPARED_HEADERS if name in lowered}
        if "x-openstack-request-id" in kept:
            kept["x-openstack-request-id"] = REQUEST_ID.sub("req-<id>", kept[
                "x-openstack-request-id"])
        parsed: object = None
        text: str | None = None
        if body:
            try:
                parsed = self.value(json.loads(body))
            except ValueError:
                text = " ".join(self.text(body.decode("utf-8", "replace")).split())
        if parsed is not None and "content-length" in kept:
            # The length of a JSON body says nothing about the API (spacing, key order).
            kept["content-length"] = "<json length>"
        return Answer(status, kept, parsed, text, raw)
