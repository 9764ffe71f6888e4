"""Reading a request body into buffers, as fast as the server allows.

Measured on the project's machine (2 cores), reading a 2 GB body through
gunicorn's wsgi.input reached about 590 MB/s at best (1 MiB reads): every
read goes through BytesIO buffers and copies. Receiving straight from the
client socket into a reused buffer (recv_into) reached about 3.5 GB/s. So
for a gunicorn request whose body nobody has started to read, imaged takes
what gunicorn has already read ahead and then receives from the socket
itself: a Content-Length body directly, a chunked body (what a client
streaming from a pipe sends) through the small decoder below. Anything else
(another WSGI server) reads wsgi.input.

Receiving from the socket, each call waits until the caller's whole buffer
is full (MSG_WAITALL on a blocking socket, with SO_RCVTIMEO as the read
timeout): one system call per 4 MiB chunk instead of one poll and one recv
per few dozen KiB that happened to be in the socket buffer.

Either way the caller learns how many bytes came and whether the body ended
early (the client went away): a short body is an interrupted upload. At the
end, finish() reads and drops what is left of a refused body (a full store,
a quota) and tells gunicorn where the connection stands. The drain is what
lets the client read the answer: a client sends its whole body before it
reads, and a connection closed with unread bytes in it is reset, the answer
lost with it. gunicorn drains only 64 KiB itself before it closes; Glance's
server (eventlet) drains the whole body, and so does imaged, as long as the
client keeps sending (DRAIN_TIMEOUT) and for DRAIN_BUDGET seconds at most:
a refused 1 GiB upload from the same machine drains in about a second.
"""
from __future__ import annotations

import inspect
import io
import socket
import struct
import time

from imaged.incoming import ClientDisconnected, IncomingData
from shared.units import MiB

MAX_LINE = 8192
DRAIN_TIMEOUT = 5.0     # seconds without data that end the drain of a refused body
DRAIN_BUDGET = 60.0     # seconds a drain may take in all


class _Source:
    """Bytes from what gunicorn read ahead, then from the socket."""

    def __init__(self, sock: socket.socket, head: bytes):
        self.sock = sock
        self.pending = bytearray(head)

    def readinto(self, view: memoryview) -> int:
        """Up to len(view) bytes: all of them unless the body ends, the
        connection fails or the read timeout passes with some data read."""
        if self.pending:
            count = min(len(self.pending), len(view))
            view[:count] = self.pending[:count]
            del self.pending[:count]
            return count
        try:
            return self.sock.recv_into(view, len(view), socket.MSG_WAITALL)
        except BlockingIOError:  # SO_RCVTIMEO passed without any data
            raise ClientDisconnected("reading the body failed: timed out") from None
        except OSError as exc:
            raise ClientDisconnected(f"reading the body failed: {exc}") from None

    def readline(self) -> bytes:
        """One CRLF-terminated line (without the CRLF), for chunk framing."""
        while b"\r\n" not in self.pending:
            if len(self.pending) > MAX_LINE:
                raise ClientDisconnected("a chunk header line is too long")
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                raise ClientDisconnected("reading the body failed: timed out") from None
            except OSError as exc:
                raise ClientDisconnected(f"reading the body failed: {exc}") from None
            if not data:
                raise ClientDisconnected("the connection closed inside the chunked body")
            self.pending += data
        line, _, rest = bytes(self.pending).partition(b"\r\n")
        self.pending = bytearray(rest)
        return line


class _Chunked:
    """Transfer-Encoding: chunked, decoded straight into the caller's buffer."""

    def __init__(self, source: _Source):
        self.source = source
        self.left_in_chunk = 0
        self.done = False

    def readinto(self, view: memoryview) -> int:
        if self.done:
            return 0
        if self.left_in_chunk == 0:
            size_text = self.source.readline().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ClientDisconnected(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                while self.source.readline():  # trailer fields, up to the empty line
                    pass
                self.done = True
                return 0
            self.left_in_chunk = size
        count = self.source.readinto(view[:min(len(view), self.left_in_chunk)])
        if count == 0:
            raise ClientDisconnected("the connection closed inside a chunk")
        self.left_in_chunk -= count
        if self.left_in_chunk == 0 and self.source.readline() != b"":
            raise ClientDisconnected("a chunk does not end with CRLF")
        return count


class RequestBody(IncomingData):
    """A WSGI request's body as IncomingData."""

    def __init__(self, environ: dict, timeout: float = 60.0):
        self.expected = _content_length(environ)
        self.received = 0
        self.complete = False
        self._stream = environ["wsgi.input"]
        self._socket, self._head, self._kind = _direct_socket(environ, self.expected)
        self._unreader = _chunked_unreader(getattr(self._stream, "reader", None))
        self._chunked = None
        self._source = None
        self.direct = self._socket is not None  # reading from the socket itself (fast path)
        if self._socket is not None:
            _blocking_with_read_timeout(self._socket, timeout)
            self._source = _Source(self._socket, self._head)
            if self._kind == "chunked":
                self._chunked = _Chunked(self._source)


    def readinto(self, buffer: bytearray) -> int:
        """Fill `buffer` as far as the body goes; 0 at the end of the body.
        Raises ClientDisconnected when the body is cut short."""
        view = memoryview(buffer)
        filled = 0
        while filled < len(view):
            wanted = len(view) - filled
            if self.expected is not None:
                wanted = min(wanted, self.expected - self.received - filled)
                if wanted <= 0:
                    break
            count = self._read(view[filled:filled + wanted])
            if count == 0:
                break
            filled += count
        self.received += filled
        if filled == 0:
            if self.expected is not None and self.received < self.expected:
                raise ClientDisconnected(f"the body ended after {self.received} of "
                                         f"{self.expected} bytes")
            self.complete = True
        return filled

    def _read(self, view: memoryview) -> int:
        if self._chunked is not None:
            return self._chunked.readinto(view)
        if self._source is not None:
            return self._source.readinto(view)
        try:
            data = self._stream.read(len(view))
        except OSError as exc:
            raise ClientDisconnected(f"reading the body failed: {exc}") from None
        except Exception as exc:  # gunicorn's NoMoreData, ChunkMissingTerminator...
            raise ClientDisconnected(f"the body is incomplete: {exc.__class__.__name__}") \
                from None
        view[:len(data)] = data
        return len(data)

    def finish(self) -> None:
        """Hand the connection back to gunicorn in a state it understands:
        the body consumed (drained here if it was refused half way and the
        rest is quick to read: keep-alive goes on), else what is left of a
        Content-Length body for gunicorn, or a chunked body broken off (the
        connection closes)."""
        if self._socket is None:
            return
        source = self._source
        assert source is not None, "a direct socket always has its source"
        try:
            _blocking_with_read_timeout(self._socket, 0)  # back to gunicorn's settings
            self._socket.settimeout(DRAIN_TIMEOUT)
            if not self.complete:
                self._drain()
            self._socket.settimeout(None)
        except OSError:
            pass
        reader = self._stream.reader
        leftover = bytes(source.pending)
        if self._kind == "length":
            reader.length = max((self.expected or 0) - self.received, 0)
        elif self._chunked is not None and self._chunked.done:
            reader.parser = None
            reader.buf = io.BytesIO()
        else:
            self._stream.failed = True  # where the next request starts is unknown
            leftover = b""
        source.pending.clear()
        if leftover:
            unreader = getattr(reader, "unreader", None) or self._unreader
            unreader.unread(leftover)
        self._socket = None

    def _drain(self) -> None:
        """Read and drop the rest of a refused body, so that the client can
        read the answer (see the module's docstring). One receive at a time,
        so that the budget holds even for a client that trickles."""
        view = memoryview(bytearray(4 * MiB))
        deadline = time.monotonic() + DRAIN_BUDGET
        try:
            while time.monotonic() < deadline:
                wanted = len(view) if self.expected is None else \
                    min(len(view), self.expected - self.received)
                count = self._read(view[:wanted]) if wanted > 0 else 0
                if count == 0:
                    return
                self.received += count
        except ClientDisconnected:
            pass


def _blocking_with_read_timeout(sock: socket.socket, timeout: float) -> None:
    """A blocking socket whose receives give up after `timeout` seconds
    without data (0: never). Python's own settimeout() would make the socket
    non-blocking, where MSG_WAITALL returns whatever is there."""
    sock.settimeout(None)
    seconds = int(timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                    struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000)))


def _content_length(environ: dict) -> int | None:
    text = environ.get("CONTENT_LENGTH")
    if text in (None, ""):
        return None
    try:
        return max(int(text), 0)
    except ValueError:
        return None


def _chunked_unreader(reader):
    """The unreader behind gunicorn's chunked parser (a generator argument)."""
    parser = getattr(reader, "parser", None)
    frame = getattr(parser, "gi_frame", None)
    return frame.f_locals.get("unreader") if frame is not None else None


def _direct_socket(environ: dict, expected: int | None):
    """(socket, bytes gunicorn read ahead, "length" | "chunked") when the body
    is one that nobody has started to read; (None, b"", None) otherwise."""
    none = (None, b"", None)
    sock = environ.get("gunicorn.socket")
    stream = environ.get("wsgi.input")
    reader = getattr(stream, "reader", None)
    body_buffer = getattr(stream, "buf", None)
    if sock is None or reader is None or body_buffer is None or body_buffer.tell() != 0:
        return none
    kind = type(reader).__name__
    if kind == "LengthReader" and expected is not None \
            and getattr(reader, "length", None) == expected:
        unreader = getattr(reader, "unreader", None)
        if unreader is None or not hasattr(unreader, "buf"):
            return none
        head = unreader.buf.getvalue()
        unreader.buf = io.BytesIO()
        return sock, head, "length"
    if kind == "ChunkedReader" and expected is None:
        parser = getattr(reader, "parser", None)
        unreader = _chunked_unreader(reader)
        if parser is None or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED \
                or unreader is None or not hasattr(unreader, "buf") \
                or getattr(reader, "buf", io.BytesIO()).tell() != 0:
            return none
        head = unreader.buf.getvalue()
        unreader.buf = io.BytesIO()
        return sock, head, "chunked"
    return none
