"""The contract between whoever receives image data (the HTTP layer, from a
request body) and the flows that store it (upload, stage).

The flows never see a request: they read an IncomingData, which fills a
buffer at a time and says how many bytes were announced. The HTTP layer's
RequestBody (imaged.api.body) is the one implementation that reads a socket;
tests can feed the flows from bytes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod


class ClientDisconnected(Exception):
    """The data ended before it was complete, or the connection failed."""


class IncomingData(ABC):
    """Image data arriving from a client, read once from start to end."""

    #: bytes the client announced (Content-Length), None when it did not say
    expected: int | None = None
    #: True when the bytes come straight from the socket (logged: the fast path)
    direct: bool = False

    @abstractmethod
    def readinto(self, buffer: bytearray) -> int:
        """Fill `buffer` as far as the data goes; 0 at its end. Raises
        ClientDisconnected when the data is cut short (fewer bytes than
        announced, a broken connection, a read timeout)."""

    @abstractmethod
    def finish(self) -> None:
        """Called once, whatever happened: leave the connection in a state
        its server understands (drain what is left, or close it)."""
