"""Streaming machinery shared by every format probe.

Why this exists: a disk image uploaded by a user is hostile input.  Running
``qemu-img info`` on it is itself dangerous: qemu follows qcow2 backing files
and external data files and opens the extents a VMDK descriptor names, so a
crafted image can make the host read (and later expose) its own files
(CVE-2022-47951, CVE-2024-32498).  We therefore parse the few structures
that matter in plain Python, while the bytes stream past during the upload.

How the streaming works: probes never see whole chunks.  Each probe asks the
:class:`RegionStream` for "``length`` bytes at ``offset``" and gets a callback
once those bytes have gone by; the callback may ask for further regions
further on (a header pointing at a table, say).  The stream remembers the
lowest offset anyone still wants, so a chunk that lies entirely before it
costs one comparison plus a copy of at most :data:`TAIL_LENGTH` bytes (the
end of the file holds the VHD footer and the VMDK stream footer).  What is
buffered is capped by :data:`MAX_REGION_LENGTH` and :data:`MAX_BUFFERED`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

LOG = logging.getLogger(__name__)

#: Largest virtual size we believe in (64 PiB).  Bigger claims are lies meant
#: to overflow quota or size arithmetic somewhere downstream.
MAX_VIRTUAL_SIZE = 1 << 56

#: Bytes kept from the end of the stream, handed to every probe at the end.
TAIL_LENGTH = 4096

#: Largest single region a probe may ask for.
MAX_REGION_LENGTH = 1 << 20

#: Largest total of outstanding region buffers (all probes together).
MAX_BUFFERED = 8 << 20

_NOWHERE = float("inf")


class ImageSafetyError(Exception):
    """An image is refused.  ``reasons`` holds one human sentence per problem.

    The message names every reason (joined by ``"; "``) so that an API error,
    a log line or a test can tell *why* the image was refused.
    """

    def __init__(self, reasons: str | Iterable[str]):
        if isinstance(reasons, str):
            reasons = [reasons]
        self.reasons: tuple[str, ...] = tuple(reasons) or ("image refused",)
        super().__init__("; ".join(self.reasons))

    @property
    def reason(self) -> str:
        """The first (most important) reason."""
        return self.reasons[0]


@dataclass
class Finding:
    """What one probe concluded about the stream: "this is format X"."""

    format: str
    virtual_size: int | None = None
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def out_of_range(fmt: str, field_name: str, value: int, allowed: str) -> str:
    """Standard wording for a header field with an absurd value."""
    return f"{fmt} header field {field_name}={value} out of range ({allowed})"


def check_virtual_size(fmt: str, size: int, problems: list[str]) -> None:
    """Refuse virtual sizes nobody can have (see :data:`MAX_VIRTUAL_SIZE`)."""
    if size > MAX_VIRTUAL_SIZE:
        problems.append(out_of_range(fmt, "size", size, "at most 2^56 bytes"))


class _Request:
    __slots__ = ("offset", "length", "callback", "owner", "data")

    def __init__(self, offset: int, length: int,
                 callback: Callable[[bytes], None], owner: FormatProbe | None):
        self.offset = offset
        self.length = length
        self.callback = callback
        self.owner = owner
        self.data = bytearray()

    @property
    def next_wanted(self) -> int:
        return self.offset + len(self.data)


class RegionStream:
    """Collects requested byte ranges out of a stream fed chunk by chunk.

    ``request(offset, length, callback)`` delivers ``bytes`` to ``callback``
    once the range has streamed past.  The data is shorter than ``length``
    only if the stream ended first (or, for a request pointing *behind* data
    already streamed, empty): callers treat short data as "truncated".
    """

    def __init__(self) -> None:
        self.position = 0
        self._pending: list[_Request] = []
        self._next_wanted: float = _NOWHERE
        self._tail = bytearray()
        self._finished = False

    # -- asking for data ---------------------------------------------------
    def request(self, offset: int, length: int,
                callback: Callable[[bytes], None],
                owner: FormatProbe | None = None) -> None:
        if offset < 0 or length < 0 or length > MAX_REGION_LENGTH:
            raise ValueError(f"bad region request {offset}+{length}")
        if self.buffered_bytes + length > MAX_BUFFERED:
            raise ValueError("inspection would buffer too much data")
        request = _Request(offset, length, callback, owner)
        if length == 0 or self._finished:
            self._deliver(request)
            return
        self._pending.append(request)
        self._next_wanted = min(self._next_wanted, offset)

    @property
    def next_wanted(self) -> float:
        """Lowest stream offset some probe still needs (``inf`` if none)."""
        return self._next_wanted

    @property
    def buffered_bytes(self) -> int:
        """Bytes currently held for pending regions (for audits and tests)."""
        return sum(len(r.data) for r in self._pending) + len(self._tail)

    @property
    def tail(self) -> bytes:
        """The last :data:`TAIL_LENGTH` bytes seen (fewer for tiny streams)."""
        return bytes(self._tail[-TAIL_LENGTH:])

    # -- feeding -----------------------------------------------------------
    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise RuntimeError("stream already finished")
        view = memoryview(chunk).cast("B")
        size = view.nbytes
        if not size:
            return
        start = self.position
        end = start + size
        self.position = end
        self._remember_tail(view, size)
        if end > self._next_wanted:
            self._serve(view, start, end)

    def skip(self, length: int) -> None:
        """Advance without data (file mode, over bytes nobody wants).

        The tail is dropped: the caller must still feed the last
        :data:`TAIL_LENGTH` bytes of the file.
        """
        if self.position + length > self._next_wanted:
            raise ValueError("cannot skip over wanted data")
        self.position += length
        self._tail.clear()

    def finish(self) -> None:
        """End of stream: hand every pending request what it got so far."""
        self._finished = True
        while self._pending:
            pending, self._pending = self._pending, []
            for request in pending:
                self._deliver(request)
        self._next_wanted = _NOWHERE

    # -- internals ---------------------------------------------------------
    def _remember_tail(self, view: memoryview, size: int) -> None:
        # Copy at most TAIL_LENGTH bytes per chunk: never the whole chunk.
        if size >= TAIL_LENGTH:
            self._tail = bytearray(view[size - TAIL_LENGTH:])
        else:
            self._tail += view
            if len(self._tail) > 2 * TAIL_LENGTH:
                del self._tail[:-TAIL_LENGTH]

    def _serve(self, view: memoryview, start: int, end: int) -> None:
        while True:
            completed: list[_Request] = []
            for request in self._pending:
                want = request.next_wanted
                if want >= end:
                    continue
                if want < start:  # asked for data that has already gone by
                    completed.append(request)
                    continue
                stop = min(end, request.offset + request.length)
                request.data += view[want - start:stop - start]
                if len(request.data) == request.length:
                    completed.append(request)
            if not completed:
                break
            for request in completed:
                self._pending.remove(request)
            self._recompute_next_wanted()
            for request in completed:
                self._deliver(request)
            # Callbacks may have asked for regions inside this same chunk:
            # loop so those are served before the chunk is dropped.

    def _recompute_next_wanted(self) -> None:
        self._next_wanted = min(
            (r.next_wanted for r in self._pending), default=_NOWHERE)

    def _deliver(self, request: _Request) -> None:
        owner = request.owner
        if owner is not None and owner.failure is not None:
            return
        try:
            request.callback(bytes(request.data))
        except Exception as exc:  # a probe bug must not break an upload
            if owner is None:
                raise
            LOG.warning("%s probe failed: %s", owner.name, exc, exc_info=True)
            owner.failure = f"{owner.name} structures could not be parsed ({exc})"
            self._pending = [r for r in self._pending if r.owner is not owner]
            self._recompute_next_wanted()


class FormatProbe:
    """One format's detector and checker.

    Subclasses ask for regions in :meth:`start` (via :meth:`want`), parse them
    in callbacks, and answer :meth:`conclude` with a :class:`Finding` (or
    ``None`` when the content is not theirs).  Problems are sentences that
    name the reason for refusal.
    """

    name: ClassVar[str] = ""

    def __init__(self, stream: RegionStream, **options: Any) -> None:
        self.stream = stream
        self.options = options
        #: Set when a callback raised: the probe had matched (it only digs
        #: deeper after seeing its magic), so this is reported as a problem.
        self.failure: str | None = None
        self.start()

    def want(self, offset: int, length: int,
             callback: Callable[[bytes], None]) -> None:
        self.stream.request(offset, length, callback, owner=self)

    def start(self) -> None:
        raise NotImplementedError

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        raise NotImplementedError

    def finding(self, total_size: int, tail: bytes) -> Finding | None:
        """:meth:`conclude`, turning a crashed parse into a refusal."""
        if self.failure is None:
            try:
                return self.conclude(total_size, tail)
            except Exception as exc:
                LOG.warning("%s probe failed: %s", self.name, exc,
                            exc_info=True)
                self.failure = (f"{self.name} structures could not be parsed "
                                f"({exc})")
        return Finding(self.name, None, [self.failure])
