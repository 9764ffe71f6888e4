"""The http store: read-only, for images whose data stays on a web server.

An image gets an http(s) location through PATCH (add /locations); imaged
asks the server for the size once, and from then on serves downloads by
streaming from that URL. Nothing is ever uploaded to or deleted from it.
"""
from __future__ import annotations

from collections.abc import Iterator

import requests

from imaged.store.base import (
    DataNotFound,
    ImageData,
    LocationRefused,
    ReadOnlyStore,
    Store,
    StoreError,
    StoreWriter,
)
from shared.units import MiB

CHUNK = MiB


class HttpStore(Store):
    name = "http"
    schemes = ("http", "https")
    writable = False

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout

    def open_writer(self, image_id: str) -> StoreWriter:
        raise ReadOnlyStore("The http store is read-only: data cannot be uploaded to it.")

    def size_of(self, url: str) -> int:
        try:
            response = requests.head(url, allow_redirects=True, timeout=self.timeout)
            if response.status_code == 405:  # some servers only answer GET
                response = requests.get(url, stream=True, timeout=self.timeout)
                response.close()
        except requests.RequestException as exc:
            raise LocationRefused(f"Cannot reach {url}: {exc.__class__.__name__}.") from None
        if response.status_code != 200:
            raise LocationRefused(f"{url} answered HTTP {response.status_code}.")
        length = response.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise LocationRefused(f"{url} does not say how big it is (no Content-Length).")
        return int(length)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        try:
            response = requests.get(url, headers=headers, stream=True, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StoreError(f"Cannot reach {url}: {exc.__class__.__name__}.") from None
        if response.status_code == 404:
            response.close()
            raise DataNotFound(f"{url} answered 404: the image data is gone.")
        if response.status_code not in (200, 206):
            response.close()
            raise StoreError(f"{url} answered HTTP {response.status_code}.")
        # A server that ignores Range sends everything: skip to the offset.
        skip = offset if response.status_code == 200 else 0
        total = int(response.headers.get("Content-Length", 0)) - skip
        produced = total if length is None else min(length, total)
        return ImageData(length=produced, chunks=_window(response, skip, produced),
                         close=response.close)

    def delete(self, url: str) -> None:
        """Not ours to delete: the image only pointed at it."""


def _window(response, skip: int, length: int) -> Iterator[bytes]:
    left = length
    for chunk in response.iter_content(CHUNK):
        if skip:
            if len(chunk) <= skip:
                skip -= len(chunk)
                continue
            chunk, skip = chunk[skip:], 0
        if len(chunk) >= left:
            yield chunk[:left]
            return
        left -= len(chunk)
        yield chunk
