"""imaged-api killed in the middle of its work, then started again: every
image it left importing, saving or half-staged is queued again, its task
failed with the reason, no partial file is left in the store or the staging
area, and fully staged data is kept so that it can still be imported.

The module runs a stack of its own, whose [import] allows the port of a
loopback web server that sends the first MiB of an image and then stalls,
so that a web-download import is surely running when imaged-api dies."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time

import pytest

from tests.support.images import Images, configured_stack, raw_bytes, store_dir, wait_for

MIB = 1024 * 1024


def staging(stack) -> list[str]:
    folder = stack.state_dir / "lib" / "imaged" / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def stalling_web():
    """(URL, release): answers any GET with a 64 MiB body of which only the
    first MiB comes before release is set."""
    release = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve_one(conn):
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (64 * MIB))
            conn.sendall(raw_bytes(MIB))
            release.wait(120)

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/disk.raw", release
    release.set()
    server.close()


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack, stalling_web):
    port = stalling_web[0].split(":")[2].split("/")[0]
    own = configured_stack(tmp_path_factory, stack, 105,
                           f"[import]\nallowed_ports = 80,443,{port}\n")
    yield own
    own.down()


def stalled_body(first: bytes, release: threading.Event):
    """A request body that sends `first`, then waits (the client's side of
    an upload that is still going when the server dies)."""
    yield first
    release.wait(120)
    yield b"x"


def start_stalled_request(demo: Images, path: str, release: threading.Event,
                          first: bytes) -> None:
    def send():
        with contextlib.suppress(Exception):  # the server is killed under it
            demo.request("PUT", path, data=stalled_body(first, release),
                         headers={"Content-Type": "application/octet-stream"})
    threading.Thread(target=send, daemon=True).start()


def kill_imaged_api(stack) -> None:
    """SIGKILL the gunicorn master and its workers: no clean-up code runs."""
    master = int(stack.state_dir.joinpath("run", "imaged.pid").read_text().split()[0])
    children = [int(pid) for pid in os.popen(f"pgrep -P {master}").read().split()]
    for pid in [master, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not _answers(stack.port("imaged")), timeout=30)


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_killed_imaged_api_leaves_nothing_half_done_after_its_restart(own_stack,
                                                                        stalling_web):
    url, release = stalling_web
    demo = Images(own_stack, own_stack.token("demo"))
    client_release = threading.Event()

    importing = demo.new()
    started = demo.request("POST", f"/v2/images/{importing['id']}/import",
                           json={"method": {"name": "web-download", "uri": url}})
    assert started.status_code == 202, started.text
    task_id = started.json()["task_id"]

    saving = demo.new()
    start_stalled_request(demo, f"/v2/images/{saving['id']}/file", client_release,
                          raw_bytes(8 * MIB))
    half_staged = demo.new()
    start_stalled_request(demo, f"/v2/images/{half_staged['id']}/stage", client_release,
                          raw_bytes(8 * MIB))
    staged = demo.new()
    data = raw_bytes(3 * MIB)
    assert demo.request("PUT", f"/v2/images/{staged['id']}/stage", data=data, headers={
        "Content-Type": "application/octet-stream"}).status_code == 204

    assert wait_for(lambda: demo.show(saving["id"])["status"] == "saving"
                    and demo.show(half_staged["id"])["status"] == "uploading"
                    and any(name.endswith(".partial") for name in staging(own_stack)), 60)
    assert wait_for(lambda: demo.request("GET", f"/v2/tasks/{task_id}",
                                         headers={"X-Auth-Token": own_stack.token("admin")}
                                         ).json()["status"] == "processing", 60)
    assert any(p.name.endswith(".partial") for p in store_dir(own_stack).iterdir())

    kill_imaged_api(own_stack)
    client_release.set()
    result = own_stack.up()
    assert result.returncode == 0, result.stdout + result.stderr
    demo = Images(own_stack, own_stack.token("demo"))

    after_import = demo.show(importing["id"])
    assert after_import["status"] == "queued"
    assert after_import["os_glance_failed_import"] == "file"
    assert after_import.get("os_glance_importing_to_stores", "") == ""
    task = demo.request("GET", f"/v2/tasks/{task_id}",
                        headers={"X-Auth-Token": own_stack.token("admin")}).json()
    assert task["status"] == "failure" and "stopped" in task["message"]

    assert demo.show(saving["id"])["status"] == "queued"
    assert demo.show(half_staged["id"])["status"] == "queued"
    assert demo.show(staged["id"])["status"] == "uploading"
    assert not [p.name for p in store_dir(own_stack).iterdir() if p.name.endswith(".partial")]
    assert staging(own_stack) == [staged["id"]]
    events = [e["event_type"] for e in demo.events(saving["id"])]
    assert "image.upload.failed" in events

    # What was put right works again: upload, and import the staged data.
    assert demo.upload(saving["id"], raw_bytes(MIB)).status_code == 204
    assert demo.show(saving["id"])["status"] == "active"
    imported = demo.request("POST", f"/v2/images/{staged['id']}/import",
                            json={"method": {"name": "glance-direct"}})
    assert imported.status_code == 202, imported.text
    assert wait_for(lambda: demo.show(staged["id"])["status"] == "active", 60)
    assert staging(own_stack) == []
    release.set()
    time.sleep(0.1)
