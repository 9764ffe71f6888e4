"""Whose request is this? The headers networkd's metadata proxy adds,
checked as Nova's handler checks them (_handle_instance_id_request and
_validate_shared_secret), with Nova's messages:

    no X-Instance-ID, X-Instance-ID-Signature or X-Tenant-ID,
    or more than one X-Instance-ID or X-Tenant-ID            400
    a signature that is not HMAC-SHA256(secret, instance id)   403

The guest never sends these itself: the proxy drops whatever a guest put
in them and writes its own, and only the proxy knows the secret. Which
server and project the id names, and whether they match, is decided after
this (404: not found, deleted, or another project).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.metadata_proxy import (
    FORWARDED_FOR_HEADER,
    INSTANCE_ID_HEADER,
    SIGNATURE_HEADER,
    TENANT_ID_HEADER,
    signature_is_valid,
)


class Refused(Exception):
    """The request is refused with this status and explanation."""

    def __init__(self, status: int, explanation: str):
        super().__init__(explanation)
        self.status = status
        self.explanation = explanation


@dataclass(frozen=True)
class ProxyRequest:
    instance_id: str
    tenant_id: str
    forwarded_for: str | None   # the guest's address, for the log


def check(header_values: Callable[[str], list[str]], secret: str) -> ProxyRequest:
    """`header_values(name)` gives every value of a header (none: [])."""
    instance_ids = header_values(INSTANCE_ID_HEADER)
    signatures = header_values(SIGNATURE_HEADER)
    tenant_ids = header_values(TENANT_ID_HEADER)
    if not instance_ids:
        raise Refused(400, f"{INSTANCE_ID_HEADER} header is missing from request.")
    if not signatures:
        raise Refused(400, f"{SIGNATURE_HEADER} header is missing from request.")
    if not tenant_ids:
        raise Refused(400, f"{TENANT_ID_HEADER} header is missing from request.")
    if len(instance_ids) > 1:
        raise Refused(400, f"Multiple {INSTANCE_ID_HEADER} headers found within request.")
    if len(tenant_ids) > 1:
        raise Refused(400, f"Multiple {TENANT_ID_HEADER} headers found within request.")
    signature = signatures[0]
    if len(signatures) > 1 or not (signature.isascii() and instance_ids[0].isascii()) \
            or not signature_is_valid(secret, instance_ids[0], signature):
        raise Refused(403, "Invalid proxy request signature.")
    forwarded = header_values(FORWARDED_FOR_HEADER)
    return ProxyRequest(instance_ids[0], tenant_ids[0], forwarded[0] if forwarded else None)
