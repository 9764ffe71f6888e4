"""One guest request in, one signed request to computed out.

`MetadataProxy.answer(method, target, source)` is the whole decision; the
HTTP server (listener.py) only parses the request and writes the answer:

    1. GET and HEAD only (405 otherwise: the metadata is read-only here),
    2. the source address -> the server (`locate`; 404 when no server's
       port holds it, as Neutron's agent answers),
    3. the same method, path and query string to computed's metadata
       service with four headers of the proxy's own (shared/metadata_proxy):
       X-Instance-ID, X-Tenant-ID, X-Instance-ID-Signature, X-Forwarded-For.
       answer() is never given the guest's headers, so none can be forwarded:
       a guest cannot name another instance or bring its own signature
       (Neutron's agent, too, sends only the headers it makes),
    4. the answer's status, Content-Type and body back to the guest.
computed out of reach (or any other failure): 500 with Neutron's message,
and the reason in networkd's log.
"""
from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import requests

from networkd.metadata.instances import Instance
from shared.metadata_proxy import (
    FORWARDED_FOR_HEADER,
    INSTANCE_ID_HEADER,
    SIGNATURE_HEADER,
    TENANT_ID_HEADER,
    sign,
)

LOG = logging.getLogger(__name__)
ALLOWED_METHODS = ("GET", "HEAD")
UPSTREAM_TIMEOUT = 30.0
UNKNOWN_ERROR = "An unknown error has occurred. Please try your request again."
TEXT = "text/plain; charset=utf-8"

Locate = Callable[[str], Instance | None]


@dataclass(frozen=True)
class Answer:
    """What goes back to the guest. `content_length` is the body's, or for
    HEAD the one computed announced."""
    status: int
    content_type: str
    body: bytes = b""
    content_length: int = 0
    allow: str | None = None            # the Allow header of a 405


class MetadataProxy:
    """The proxy's logic, without HTTP on the guest's side.

    locate        source address -> Instance, or None (instances.instance_at)
    upstream_url  computed's metadata service, e.g. http://127.0.0.1:8775
    secret        the shared secret the instance id is signed with (never logged)
    """

    def __init__(self, locate: Locate, upstream_url: str, secret: str,
                 timeout: float = UPSTREAM_TIMEOUT):
        self._locate = locate
        self._upstream = upstream_url.rstrip("/")
        self._secret = secret
        self._timeout = timeout

    def answer(self, method: str, target: str, source: str) -> Answer:
        """The answer to `method target` (the request line's path and
        query string) from a guest at address `source`."""
        if method not in ALLOWED_METHODS:
            return _text(405, "Method Not Allowed", allow=", ".join(ALLOWED_METHODS))
        try:
            instance = self._locate(source)
            if instance is None:
                LOG.info("metadata request from %s: no server's port has that address",
                         source)
                return _text(404, "Not Found")
            return self._forward(method, target, instance, source)
        except requests.RequestException as error:
            LOG.error("metadata request from %s: computed's metadata service at %s cannot "
                      "be reached: %s", source, self._upstream, error)
        except Exception:
            LOG.exception("metadata request from %s failed", source)
        return _text(500, UNKNOWN_ERROR)

    def upstream_headers(self, instance: Instance, source: str) -> dict[str, str]:
        """The only headers computed gets."""
        return {INSTANCE_ID_HEADER: instance.id,
                TENANT_ID_HEADER: instance.project_id,
                SIGNATURE_HEADER: sign(self._secret, instance.id),
                FORWARDED_FOR_HEADER: source}

    def upstream_url(self, target: str) -> str:
        """computed's URL for a request target: its path (always from "/",
        so the target can never name another host) and query string."""
        parts = urllib.parse.urlsplit(target)
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        return self._upstream + path + (f"?{parts.query}" if parts.query else "")

    def _forward(self, method: str, target: str, instance: Instance, source: str) -> Answer:
        reply = requests.request(method, self.upstream_url(target),
                                 headers=self.upstream_headers(instance, source),
                                 timeout=self._timeout, allow_redirects=False)
        if reply.status_code == 403:
            LOG.warning("computed's metadata service refused the signature of instance %s: "
                        "do networkd's and computed's [metadata] "
                        "metadata_proxy_shared_secret differ?", instance.id)
        length = len(reply.content)
        if method == "HEAD":
            length = int(reply.headers.get("Content-Length", "0") or 0)
        return Answer(reply.status_code, reply.headers.get("Content-Type", TEXT),
                      reply.content, length)


def _text(status: int, text: str, allow: str | None = None) -> Answer:
    body = (text + "\n").encode()
    return Answer(status, TEXT, body, len(body), allow)
