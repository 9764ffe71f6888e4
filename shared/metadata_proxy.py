"""The contract between the metadata proxy (networkd) and the metadata
service (computed), as between Neutron's metadata agent and Nova's
metadata API.

A guest asks http://169.254.169.254/... ; networkd answers inside the
stack's network namespace, knows the guest by its source address (the
anti-spoofing rules make it trustworthy), and forwards the request to
computed's metadata service with three headers:

    X-Instance-ID            the server's UUID (the port's device_id)
    X-Tenant-ID              the port's project
    X-Instance-ID-Signature  HMAC-SHA256 of the instance id, keyed with the
                             shared secret, in hex

plus X-Forwarded-For (the guest's address). computed serves only requests
whose signature is right, so nothing but the proxy can ask for an
instance's keys and user data.
"""
from __future__ import annotations

import hashlib
import hmac

INSTANCE_ID_HEADER = "X-Instance-ID"
TENANT_ID_HEADER = "X-Tenant-ID"
SIGNATURE_HEADER = "X-Instance-ID-Signature"
FORWARDED_FOR_HEADER = "X-Forwarded-For"
METADATA_ADDRESS = "169.254.169.254"
METADATA_PORT = 80


def sign(secret: str, instance_id: str) -> str:
    """The X-Instance-ID-Signature of `instance_id` (Nova's and Neutron's
    formula: hmac(secret, instance_id, sha256).hexdigest())."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def signature_is_valid(secret: str, instance_id: str, signature: str) -> bool:
    """Compare in constant time, as Nova does."""
    return hmac.compare_digest(sign(secret, instance_id), signature)
