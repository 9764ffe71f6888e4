"""OpenStack microversions, as Nova and Cinder read them (the API working
group's microversion specification): a client names the version it wants in
`OpenStack-API-Version: <service type> X.Y` (several services may share the
header, comma separated), or, for Nova, in the older
`X-OpenStack-Nova-API-Version: X.Y`; "latest" means the highest the server
speaks. The answer names the version it was given in the same headers, with
`Vary` on them so caches keep one answer per version.

One `Microversions` per service (computed's, volumed's); each request's
version lives in flask's `g` under the service's key so that renderers read
it without being passed it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import g, request

from shared.errors import ApiError, BadRequest, NotFound

HEADER = "OpenStack-API-Version"
VERSION_SYNTAX = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")

Version = tuple[int, int]


def text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Microversions:
    """A service's microversions: `service_type` names it in the header,
    `legacy_header` is read when the new header names no version for it,
    `default` is what a request naming none gets."""
    service_type: str
    minimum: Version
    maximum: Version
    default: Version
    legacy_header: str | None = None

    @property
    def key(self) -> str:
        return f"{self.service_type}_api_version"

    def requested(self) -> str | None:
        """The version text the request names for this service, if any."""
        wanted = None
        for part in ",".join(request.headers.getlist(HEADER)).split(","):
            words = part.strip().split()
            if len(words) == 2 and words[0].lower() == self.service_type:
                wanted = words[1]
        if wanted is None and self.legacy_header:
            wanted = request.headers.get(self.legacy_header) or None
        return wanted.strip() if wanted is not None else None

    def parse(self) -> Version:
        """The version this request asked for: 400 for text that is not
        X.Y, 406 for a version outside [minimum, maximum] (the messages are
        Nova's; Cinder's say the same)."""
        wanted = self.requested()
        if wanted is None:
            return self.default
        if wanted.lower() == "latest":
            return self.maximum
        match = VERSION_SYNTAX.match(wanted)
        if match is None:
            raise BadRequest(f"API Version String {wanted} is of invalid format. Must be "
                             f"of format MajorNum.MinorNum.")
        version = (int(match.group(1)), int(match.group(2)))
        if not self.minimum <= version <= self.maximum:
            raise ApiError(f"Version {text(version)} is not supported by the API. Minimum "
                           f"is {text(self.minimum)} and maximum is "
                           f"{text(self.maximum)}.", 406)
        return version

    def start_request(self) -> None:
        """Parse and remember this request's version (a before_request hook)."""
        setattr(g, self.key, self.parse())

    def current(self) -> Version:
        """This request's version (the default outside a versioned request)."""
        return g.get(self.key, self.default)

    def at_least(self, version: Version) -> bool:
        return self.current() >= version

    def require(self, version: Version) -> None:
        """A resource that only exists from `version` on is 404 below it."""
        if not self.at_least(version):
            raise NotFound("The resource could not be found.")

    def below(self, version: Version) -> None:
        """A resource removed at `version` is 404 from it on (Nova's 2.36
        proxy APIs)."""
        if self.at_least(version):
            raise NotFound("The resource could not be found.")

    def add_headers(self, response):
        """The version in the answer's headers (an after_request hook)."""
        if self.key in g:
            version = text(getattr(g, self.key))
            response.headers[HEADER] = f"{self.service_type} {version}"
            names = [HEADER]
            if self.legacy_header:
                response.headers[self.legacy_header] = version
                names.append(self.legacy_header)
            for name in names:
                response.headers.add("Vary", name)
        return response
