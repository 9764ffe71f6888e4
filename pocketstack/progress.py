"""Progress of the `pocketstack` command's long operations, for a person at a
terminal and for a log alike.

On a terminal, one live line is redrawn in place (a carriage return, then
the line): a byte count with a percentage for a transfer, a spinner with
the seconds elapsed for a wait. Anywhere else (a pipe, a file, a CI log)
nothing is ever redrawn: each phase prints one line when it ends, so the
log reads top to bottom and holds no carriage return.

    progress = Progress()                    # on sys.stdout; live if it is a terminal
    with progress.waiting("building the tiny image") as wait:
        wait.note("downloading the kernel")  # shown beside the spinner
        build(...)
    with progress.transfer("uploading tiny.qcow2", total=size) as sent:
        requests.put(url, data=sent.reading(open(path, "rb")))
    progress.line("a line of its own")       # printed above the live line

A wait prints "<what>: done (12.3 s)" when it ends ("failed" if an
exception left it, "interrupted" on Ctrl-C), a transfer "<what>: 12.0 MiB in 1.5 s"; `report=False`
leaves that line to the caller (the live line is still shown and erased).
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

SPINNER = "|/-\\"
REDRAW_EVERY = 0.1        # seconds between two drawings of the live line
CHUNK = 64 * 1024


def human_bytes(count: float) -> str:
    """1536 -> '1.5 KiB' (binary units, as `openstack image show` sizes are)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class Progress:
    """The live line of one output stream, and the lines printed above it."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream if stream is not None else sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.RLock()
        self._shown = ""            # the live line currently on the screen

    def line(self, text: str = "") -> None:
        """A line of its own (never redrawn); the live line comes back below it."""
        with self._lock:
            shown = self._shown
            self._erase()
            self.stream.write(text + "\n")
            if shown:
                self._draw(shown)
            self.stream.flush()

    @contextmanager
    def waiting(self, what: str, report: bool = True) -> Iterator[Waiting]:
        """A wait of unknown length: a spinner and the seconds elapsed."""
        wait = Waiting(self, what)
        ticker = _Ticker(wait.redraw) if self.live else None
        try:
            yield wait
        except BaseException as error:
            if wait.outcome == "done":
                wait.outcome = "interrupted" if isinstance(error, KeyboardInterrupt) \
                    else "failed"
            raise
        finally:
            if ticker:
                ticker.stop()
            self._clear()
            if report:
                self.line(f"{what}: {wait.outcome} ({wait.elapsed:.1f} s)")

    @contextmanager
    def transfer(self, what: str, total: int | None, report: bool = True
                 ) -> Iterator[Transfer]:
        """Bytes moving (an upload, a download): done/total and a percentage."""
        moved = Transfer(self, what, total)
        try:
            yield moved
        finally:
            self._clear()
            if report:
                elapsed = max(moved.elapsed, 0.001)
                self.line(f"{what}: {human_bytes(moved.done)} in {moved.elapsed:.1f} s "
                          f"({human_bytes(moved.done / elapsed)}/s)")

    def show(self, text: str) -> None:
        """Redraw the live line (nothing happens when not on a terminal)."""
        if not self.live:
            return
        with self._lock:
            self._erase()
            self._draw(text)
            self.stream.flush()

    def _draw(self, text: str) -> None:
        width = shutil.get_terminal_size().columns - 1   # never wrap: \r would not undo it
        self._shown = text[:width]
        self.stream.write(self._shown)

    def _erase(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = ""

    def _clear(self) -> None:
        with self._lock:
            self._erase()
            self.stream.flush()


class Waiting:
    """The state of one wait: what it waits for, a detail, how it ended."""

    def __init__(self, progress: Progress, what: str):
        self.progress = progress
        self.what = what
        self.detail = ""
        self.outcome = "done"
        self.started = time.monotonic()
        self._turns = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def note(self, detail: str) -> None:
        """What is happening now (a status, a phase), shown beside the spinner."""
        self.detail = detail
        self.redraw()

    def finish(self, outcome: str) -> None:
        """The word of the final line instead of "done" (e.g. "ACTIVE")."""
        self.outcome = outcome

    def redraw(self) -> None:
        self._turns += 1
        spinner = SPINNER[self._turns % len(SPINNER)]
        detail = f"  {self.detail}" if self.detail else ""
        self.progress.show(f"{spinner} {self.what} ... {self.elapsed:5.1f} s{detail}")


class Transfer:
    """The bytes of one transfer so far."""

    def __init__(self, progress: Progress, what: str, total: int | None):
        self.progress = progress
        self.what = what
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._drawn_at = 0.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._drawn_at < REDRAW_EVERY and self.done != self.total:
            return
        self._drawn_at = now
        if self.total:
            share = f"{human_bytes(self.done)} / {human_bytes(self.total)}  " \
                    f"{100 * self.done / self.total:3.0f}%"
        else:
            share = human_bytes(self.done)
        rate = human_bytes(self.done / max(self.elapsed, 0.001))
        self.progress.show(f"{self.what}  {share}  {rate}/s")

    def reading(self, source: BinaryIO) -> CountingReader:
        """`source` as a request body that counts what is read of it."""
        return CountingReader(source, self)


class CountingReader:
    """A file given to `requests` as a body: its size known (so it is sent
    with a Content-Length, not chunked) and each read counted."""

    def __init__(self, source: BinaryIO, transfer: Transfer):
        self.source = source
        self.transfer = transfer
        self.size = transfer.total if transfer.total is not None else 0

    def __len__(self) -> int:
        return self.size

    def read(self, size: int = CHUNK) -> bytes:
        data = self.source.read(size if size and size > 0 else CHUNK)
        self.transfer.advance(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while data := self.read(CHUNK):
            yield data


class _Ticker:
    """Calls `redraw` every REDRAW_EVERY seconds in a background thread, so
    a wait shows its spinner turning even while the caller blocks."""

    def __init__(self, redraw):
        self._redraw = redraw
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._redraw()
            self._stop.wait(REDRAW_EVERY)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
