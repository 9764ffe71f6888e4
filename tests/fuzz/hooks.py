"""Schemathesis hooks for PocketStack's APIs (loaded through the run's
schemathesis.toml).

Glance's JSON-patch media type is JSON on the wire.

POST /v2.1/servers: a generated body whose flavorRef and imageRef have the
JSON types the schema allows (or no imageRef) is given the ids of a real
flavor and image (FLAVOR_VARIABLE, IMAGE_VARIABLE), so that it gets past
the lookups to the networks, the key pair and the quota (0 instances on the
stack of a run that sends it: 403, and no guest boots). Bodies of the wrong
types are sent as generated.
"""
import os

import schemathesis

FLAVOR_VARIABLE = "POCKETSTACK_FUZZ_FLAVOR"
IMAGE_VARIABLE = "POCKETSTACK_FUZZ_IMAGE"

schemathesis.serializer.alias("application/openstack-images-v2.1-json-patch", "application/json")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if (case.operation.method.upper(), case.operation.path) != ("POST", "/v2.1/servers"):
        return
    server = case.body.get("server") if isinstance(case.body, dict) else None
    if not isinstance(server, dict):
        return
    flavor, image = os.environ.get(FLAVOR_VARIABLE), os.environ.get(IMAGE_VARIABLE)
    flavor_ref = server.get("flavorRef")
    if flavor and isinstance(flavor_ref, (str, int)) and not isinstance(flavor_ref, bool):
        server["flavorRef"] = flavor
    if image and isinstance(server.get("imageRef", ""), str):
        server["imageRef"] = image
