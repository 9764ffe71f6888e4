"""web-download: open an http(s) URL for reading, checking every hop.

Redirects are followed here, one at a time, so that each new URL passes
the same filter (uri_filter.py) as the first. The response body is then
read like a request body (readinto/finish) by the upload's streaming code.
"""
from __future__ import annotations

from urllib.parse import urljoin

import requests

from imaged.imports.settings import ImportSettings
from imaged.imports.uri_filter import UriRefused, check_uri
from imaged.incoming import IncomingData
from shared.units import MiB

MAX_REDIRECTS = 5
READ_SIZE = MiB


class DownloadFailed(Exception):
    """The web server could not give us the data (message for the user)."""


class ResponseSource(IncomingData):
    """A streaming response read like a request body (see staging.FileSource)."""

    expected = None
    direct = False

    def __init__(self, response: requests.Response):
        self._response = response
        self._chunks = response.iter_content(READ_SIZE)
        self._pending = b""

    def readinto(self, buffer: bytearray) -> int:
        view, filled = memoryview(buffer), 0
        while filled < len(view):
            if not self._pending:
                try:
                    self._pending = next(self._chunks, b"")
                except requests.RequestException as exc:
                    raise DownloadFailed(f"the download broke off: {exc}") from None
                if not self._pending:
                    break
            count = min(len(self._pending), len(view) - filled)
            view[filled:filled + count] = self._pending[:count]
            self._pending = self._pending[count:]
            filled += count
        return filled

    def finish(self) -> None:
        self._response.close()


def open_url(uri: str, settings: ImportSettings) -> ResponseSource:
    """A source for the body at `uri` (after redirects), or UriRefused /
    DownloadFailed naming what went wrong."""
    for _hop in range(MAX_REDIRECTS + 1):
        check_uri(uri, settings)
        try:
            response = requests.get(uri, stream=True, allow_redirects=False,
                                    timeout=settings.download_timeout,
                                    headers={"Accept-Encoding": "identity"})
        except requests.RequestException as exc:
            raise DownloadFailed(f"could not fetch {uri}: {exc.__class__.__name__}") from None
        if response.is_redirect:
            response.close()
            uri = urljoin(uri, response.headers.get("Location", ""))
            continue
        if response.status_code != 200:
            response.close()
            raise DownloadFailed(f"{uri} answered {response.status_code} "
                                 f"{response.reason}")
        return ResponseSource(response)
    raise UriRefused(f"{uri} redirects more than {MAX_REDIRECTS} times.")
