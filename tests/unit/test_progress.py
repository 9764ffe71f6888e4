"""pocketstack/progress.py: a live line on a terminal (a real pseudo-terminal
here), one line per phase and no carriage return anywhere else."""
from __future__ import annotations

import io
import os
import pty
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests

from pocketstack.progress import Progress, human_bytes


def terminal() -> tuple[io.TextIOWrapper, int]:
    """(a stream on a pseudo-terminal, the fd its output is read from)."""
    leader, follower = pty.openpty()
    return open(follower, "w", buffering=1), leader


def read_all(fd: int) -> str:
    chunks = []
    os.set_blocking(fd, False)
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_not_a_terminal_prints_one_line_per_phase_and_no_carriage_return():
    out = io.StringIO()
    progress = Progress(out)
    assert not progress.live
    with progress.waiting("building the tiny image") as wait:
        wait.note("downloading the kernel")
        time.sleep(0.3)
    with progress.transfer("uploading tiny.qcow2", 3 * 2**20) as sent:
        for _ in range(3):
            sent.advance(2**20)
    progress.line("a line of its own")
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(r"building the tiny image: done \(\d+\.\d s\)", lines[0]), lines
    assert lines[1].startswith("uploading tiny.qcow2: 3.0 MiB in ")
    assert lines[2] == "a line of its own"


def test_a_failed_wait_says_so_and_report_false_leaves_the_line_to_the_caller():
    out = io.StringIO()
    progress = Progress(out)
    try:
        with progress.waiting("waiting for ACTIVE"):
            raise TimeoutError
    except TimeoutError:
        pass
    with progress.waiting("starting identity", report=False):
        pass
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("waiting for ACTIVE: failed (")


def test_on_a_terminal_a_spinner_turns_and_the_live_line_is_erased():
    stream, leader = terminal()
    progress = Progress(stream)
    assert progress.live
    with progress.waiting("waiting for ACTIVE") as wait:
        wait.note("BUILD / spawning")
        time.sleep(0.5)
        progress.line("event compute.instance.create.start")
        time.sleep(0.3)
        wait.finish("ACTIVE")
    text = read_all(leader)
    stream.close()
    os.close(leader)
    assert "\r" in text
    drawn = [part.removeprefix("\x1b[K") for part in text.split("\r")
             if "waiting for ACTIVE ..." in part]
    assert len(drawn) >= 3, text                 # redrawn while the caller slept
    assert len({part[0] for part in drawn}) >= 2, drawn      # the spinner turned
    assert "BUILD / spawning" in text
    # What was printed during the wait, and the end of the wait, are lines
    # of their own once the live line is erased (a terminal shows what
    # follows the last carriage return of each line).
    shown = [line.rstrip("\r").split("\r")[-1].removeprefix("\x1b[K")
             for line in text.split("\n")]
    assert "event compute.instance.create.start" in shown, shown
    assert re.fullmatch(r"waiting for ACTIVE: ACTIVE \(\d+\.\d s\)", shown[-2]), shown


def test_on_a_terminal_a_transfer_shows_bytes_and_percentage():
    stream, leader = terminal()
    progress = Progress(stream)
    with progress.transfer("uploading", 4 * 2**20) as sent:
        for _ in range(4):
            sent.advance(2**20)
            time.sleep(0.12)
    text = read_all(leader)
    stream.close()
    os.close(leader)
    assert "1.0 MiB / 4.0 MiB   25%" in text, text
    assert "4.0 MiB / 4.0 MiB  100%" in text, text
    assert "uploading: 4.0 MiB in " in text


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str | None, str | None, int]] = []

    def do_PUT(self):  # noqa: N802 (http.server's naming)
        length = self.headers.get("Content-Length")
        body = self.rfile.read(int(length)) if length else b""
        _Receiver.received.append((length, self.headers.get("Transfer-Encoding"), len(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_upload_through_requests_is_counted_and_sent_with_its_length(tmp_path):
    data = tmp_path / "disk.qcow2"
    data.write_bytes(os.urandom(300_000))
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    out = io.StringIO()
    try:
        with Progress(out).transfer("uploading disk.qcow2", 300_000) as sent, \
                data.open("rb") as source:
            answer = requests.put(f"http://127.0.0.1:{server.server_port}/file",
                                  data=sent.reading(source), timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 204
    assert _Receiver.received == [("300000", None, 300_000)]
    assert sent.done == 300_000
    assert out.getvalue().startswith("uploading disk.qcow2: 293.0 KiB in ")


def test_human_bytes():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(18481152) == "17.6 MiB"
    assert human_bytes(3 * 2**40) == "3072.0 GiB"
