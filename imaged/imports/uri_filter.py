"""Which URLs web-download may fetch.

Why so strict: the server fetching a URL a user names is a classic way to
make it scan ports or reach services only it can see (OSSN-0078 was about
Glance v1's copy_from doing exactly that). So, as Glance's
[import_filtering_opts]: only http and https, only ports 80 and 443 unless
the operator allows more, optional host allow and deny lists. Every
redirect is checked again (fetch.py follows them itself), so a permitted
server cannot bounce the request to a forbidden one.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from imaged.imports.settings import ImportSettings

DEFAULT_PORTS = {"http": 80, "https": 443}


class UriRefused(ValueError):
    """The URL is not allowed; the message says which rule refused it."""


def check_uri(uri: str, settings: ImportSettings) -> str:
    """The URI if web-download may fetch it, else UriRefused."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise UriRefused(f"{uri!r} is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in settings.allowed_schemes:
        raise UriRefused(f"The URL scheme {scheme or '(none)'!r} is not allowed for "
                         f"web-download (allowed: {', '.join(sorted(settings.allowed_schemes))}).")
    host = (parts.hostname or "").lower()
    if not host:
        raise UriRefused(f"The URL {uri!r} names no host.")
    if parts.username or parts.password:
        raise UriRefused("URLs with a user name or password are not allowed for "
                         "web-download.")
    if settings.allowed_hosts and host not in settings.allowed_hosts:
        raise UriRefused(f"The host {host} is not in the allowed hosts of web-download.")
    if host in settings.disallowed_hosts:
        raise UriRefused(f"The host {host} is not allowed for web-download.")
    port = port if port is not None else DEFAULT_PORTS[scheme]
    if port not in settings.allowed_ports:
        raise UriRefused(f"The port {port} is not allowed for web-download (allowed ports: "
                         f"{', '.join(str(p) for p in sorted(settings.allowed_ports))}).")
    return uri
