"""Image service benchmark: prints one JSON document of figures.

    .venv/bin/python -m bench.image_io [--size-mib 1024] [--images 10000]

Starts a stack of its own (in a temporary state directory, on shifted ports),
then measures, in the same run:
- the machine's own limits: md5+sha512 hashing MB/s on one core, disk write MB/s;
- upload and download MB/s of one image of --size-mib. The upload sends a
  file as the openstack client does (one PUT with Content-Length), from a
  file written and synced beforehand, so in the page cache: the standard
  library's HTTP client sends the headers and the socket's sendfile() the
  body, so that the client takes little of the 2 cores the service needs.
  The same upload with a chunked body (requests, from a generator, as a
  client streaming from a pipe sends it) is measured too;
- create latency and "list 25 of N images" latency (medians, with the 10th
  and 90th percentiles), measured twice: through one kept-alive connection of
  the standard library's HTTP client, which adds little of its own, so the
  figure is the service's; and through python-requests, as the openstack
  client sends them, which adds the library's own 1-2 ms per call;
- 8 and 32 concurrent uploads: failures and aggregate MB/s;
- with --stores file,rbd,swift: the same image's upload and download MB/s in
  each named store, side by side (rbd: in the stack's own single-node Ceph,
  swift: in its own single-node Swift, which pocketstack.conf turns on;
  uploads name their store with Glance's X-Image-Meta-Store header).

And what bounds an upload on this machine, in the same run: md5 and sha512
over the same data in two threads while a third writes it to a file (the
service's own pipeline, pipeline.py, with no network and no client), and the
upload's rate as a multiple of the one-core md5+sha512 rate (Glance uploads
at 0.40 of it).
Figures only; it asserts nothing (the targets are in the README's issue notes).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from shared.units import MiB
from tests.stack import Stack, pocketstack, port_offset_for

CHUNK = 4 * MiB


def payload(size: int):
    """size bytes in CHUNK pieces, not all zero (so nothing can cheat on zeros)."""
    block = os.urandom(CHUNK)
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


def payload_file(directory: Path, size: int) -> Path:
    """The payload in a file, synced (so no writeback runs during the upload)."""
    path = directory / "bench-payload"
    with open(path, "wb") as handle:
        for piece in payload(size):
            handle.write(piece)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def hashing_rate(size: int) -> float:
    """MB/s of md5 then sha512 over the same data on one core (what a
    single-threaded service would reach at best)."""
    block = os.urandom(CHUNK)
    md5, sha = hashlib.md5(), hashlib.sha512()
    started = time.perf_counter()
    for _ in range(size // CHUNK):
        md5.update(block)
        sha.update(block)
    return size / MiB / (time.perf_counter() - started)


def disk_write_rate(directory: Path, size: int) -> float:
    path = directory / "bench-disk-write"
    block = os.urandom(CHUNK)
    started = time.perf_counter()
    with open(path, "wb") as handle:
        for _ in range(size // CHUNK):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return size / MiB / elapsed


def hash_and_write_rate(directory: Path, size: int) -> float:
    """MB/s of the upload pipeline alone: md5, sha512 and a file write, each
    in its own thread (imaged.pipeline.FanOut), fed from memory. No service
    that must hash and store every byte can upload faster on this machine."""
    from imaged.pipeline import FanOut
    path = directory / "bench-hash-and-write"
    block = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    md5, sha = hashlib.md5(), hashlib.sha512()

    def write(view: memoryview) -> None:
        while view:
            view = view[os.write(fd, view):]

    started = time.perf_counter()
    try:
        workers = FanOut({"md5": md5.update, "sha512": sha.update, "store": write})
        for _ in range(size // CHUNK):
            workers.submit(memoryview(block), lambda: None)
        workers.finish()
        md5.hexdigest(), sha.hexdigest()
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink()
    return size / MiB / elapsed


def percentiles(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p10_ms": round(ordered[len(ordered) // 10], 2),
            "p90_ms": round(ordered[len(ordered) * 9 // 10], 2), "samples": len(ordered)}


class KeptAliveClient:
    """One HTTP/1.1 connection kept open, as a client library keeps one, but
    with next to no work of its own: the request, the response read and its
    JSON parsed."""

    def __init__(self, url: str, token: str):
        parts = urlsplit(url)
        self.path = parts.path
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"X-Auth-Token": token, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        self.connection.request(method, self.path + path, headers=self.headers,
                                body=json.dumps(body) if body is not None else None)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")

    def close(self) -> None:
        self.connection.close()


class Images:
    def __init__(self, stack: Stack):
        self.url = stack.url("imaged") + "/v2/images"
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = stack.token("admin")

    def create(self, name: str) -> str:
        response = self.session.post(self.url, json={"name": name, "disk_format": "raw",
                                                     "container_format": "bare"})
        response.raise_for_status()
        return response.json()["id"]

    def _headers(self, size: int) -> dict:
        return {"X-Auth-Token": self.session.headers["X-Auth-Token"],
                "Content-Type": "application/octet-stream", "Content-Length": str(size)}

    def upload(self, image_id: str, size: int) -> int:
        """PUT with Content-Length through the standard library's HTTP client
        (it sends each block of an iterable body as it comes, no copies)."""
        url = urlsplit(f"{self.url}/{image_id}/file")
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        try:
            connection.request("PUT", url.path, body=payload(size), headers=self._headers(size))
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def upload_file(self, image_id: str, path: Path, store: str | None = None) -> int:
        """PUT of a file with Content-Length: http.client sends the request
        head, the socket's sendfile() the body (into `store`, if named)."""
        url = urlsplit(f"{self.url}/{image_id}/file")
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        headers = self._headers(path.stat().st_size)
        if store:
            headers["X-Image-Meta-Store"] = store
        try:
            connection.putrequest("PUT", url.path)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            with open(path, "rb") as source:
                connection.sock.sendfile(source)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def upload_chunked(self, image_id: str, size: int) -> int:
        """PUT with Transfer-Encoding: chunked (requests, body from a generator)."""
        response = requests.put(f"{self.url}/{image_id}/file", data=payload(size),
                                headers={"X-Auth-Token": self.session.headers["X-Auth-Token"],
                                         "Content-Type": "application/octet-stream"})
        return response.status_code

    def delete(self, image_id: str) -> None:
        self.session.delete(f"{self.url}/{image_id}").raise_for_status()

    def download(self, image_id: str) -> int:
        received = 0
        with self.session.get(f"{self.url}/{image_id}/file", stream=True) as response:
            response.raise_for_status()
            for chunk in response.iter_content(CHUNK):
                received += len(chunk)
        return received


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def concurrent_uploads(images: Images, count: int, size: int) -> dict:
    ids = [images.create(f"concurrent-{count}-{i}") for i in range(count)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(lambda image_id: images.upload(image_id, size), ids))
    elapsed = time.perf_counter() - started
    failures = sum(1 for status in statuses if status != 204)
    return {"uploads": count, "size_mib": size // MiB, "failures": failures,
            "statuses": sorted(set(statuses)),
            "aggregate_mb_s": round(count * size / MiB / elapsed, 1)}


NEW_IMAGE = {"name": "timed", "disk_format": "raw", "container_format": "bare"}


def fill(images: Images, total: int) -> None:
    existing = len(images.session.get(images.url, params={"limit": 1000}).json()["images"])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: images.create(f"listed-{i:05d}"), range(max(0, total - existing))))


def latencies(images: Images, token: str, samples: int = 200) -> dict:
    """Create and list-25 latencies through each client; every response is
    checked (201, or 200 with 25 images) so an error can never be timed."""
    lean = KeptAliveClient(images.url, token)

    def lean_create():
        status, _body = lean.call("POST", "", NEW_IMAGE)
        assert status == 201, status

    def lean_list():
        status, body = lean.call("GET", "?limit=25")
        assert status == 200 and len(body["images"]) == 25, status

    def requests_list():
        response = images.session.get(images.url, params={"limit": 25})
        assert response.status_code == 200 and len(response.json()["images"]) == 25

    def sample(call) -> dict:
        for _ in range(10):  # warm-up: connections, statement caches
            call()
        return percentiles([timed(call)[0] * 1000 for _ in range(samples)])

    try:
        return {"client": "http.client, one kept-alive connection",
                "create": sample(lean_create), "list_25": sample(lean_list),
                "through_requests": {"create": sample(lambda: images.create("timed")),
                                     "list_25": sample(requests_list)}}
    finally:
        lean.close()


def use_named_stores(stack: Stack, stores: list[str]) -> None:
    """Before the first `up`: Ceph on when an rbd store is asked for. After
    it: one named store per kind (file first, the default), then a restart."""
    etc = stack.state_dir / "etc"
    if not (etc / "imaged-api.conf").exists():
        stack_conf = ""
        if "rbd" in stores:
            from tests.support.ceph import stack_conf as ceph_conf
            stack_conf += ceph_conf(stack)
        if "swift" in stores:
            from tests.support.swift import stack_conf as swift_conf
            stack_conf += swift_conf(stack)
        if stack_conf:
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "pocketstack.conf").write_text(stack_conf)
        return
    stack.set_option("imaged-api.conf", "store", "enabled_backends",
                     ",".join(f"{kind}:{kind}" for kind in stores))
    stack.set_option("imaged-api.conf", "store", "default_backend", stores[0])
    if "file" in stores:
        stack.set_option("imaged-api.conf", "store:file", "filesystem_store_datadir",
                         str(stack.state_dir / "lib" / "images"))
    stack.down()
    result = pocketstack(stack.state_dir, "up", check=False)
    if result.returncode:
        raise SystemExit(result.stdout + result.stderr)


def store_rates(images: Images, stores: list[str], source: Path) -> dict:
    """Upload and download MB/s of the same file in each named store."""
    size = source.stat().st_size
    figures = {}
    for store in stores:
        image_id = images.create(f"bench-{store}")
        upload_s, status = timed(images.upload_file, image_id, source, store)
        download_s, received = timed(images.download, image_id)
        images.delete(image_id)
        figures[store] = {"upload_status": status,
                          "upload_mb_s": round(size / MiB / upload_s, 1),
                          "download_mb_s": round(received / MiB / download_s, 1)}
    return {"size_mib": size // MiB, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--concurrent-size-mib", type=int, default=32)
    parser.add_argument("--stores", default="file",
                        help="named stores to compare, e.g. file,rbd,swift (default: file "
                             "only)")
    args = parser.parse_args()
    size = args.size_mib * MiB
    stores = [kind.strip() for kind in args.stores.split(",") if kind.strip()]
    with tempfile.TemporaryDirectory(prefix="pocketstack-bench-") as tmp:
        stack = Stack(Path(tmp), port_offset_for("bench", base=40000))
        if stores != ["file"]:
            use_named_stores(stack, stores)
        result = pocketstack(stack.state_dir, "up", "--port-offset", str(stack.port_offset),
                             check=False)
        if result.returncode:
            stack.down()  # what did start (Ceph, Swift) must not outlive the directory
            raise SystemExit(result.stdout + result.stderr)
        try:
            if stores != ["file"]:
                use_named_stores(stack, stores)
            images = Images(stack)
            source = payload_file(Path(tmp), size)
            one_core = hashing_rate(min(size, 512 * MiB))
            figures = {"machine": {"md5_sha512_one_core_mb_s": round(one_core, 1),
                                   "disk_write_mb_s":
                                       round(disk_write_rate(Path(tmp), min(size, 1024 * MiB)), 1),
                                   "md5_sha512_and_write_in_threads_mb_s":
                                       round(hash_and_write_rate(Path(tmp), size), 1),
                                   "cpus": os.cpu_count()}}
            image_id = images.create("bench-big")
            upload_s, status = timed(images.upload_file, image_id, source)
            download_s, received = timed(images.download, image_id)
            chunked_id = images.create("bench-big-chunked")
            chunked_s, chunked_status = timed(images.upload_chunked, chunked_id, size)
            # Deleting the big images drops their dirty pages: the kernel
            # writing them back would otherwise take CPU from what comes next.
            for big in (image_id, chunked_id):
                images.delete(big)
            if stores != ["file"]:
                figures["stores"] = store_rates(images, stores, source)
            source.unlink()
            figures["single_image"] = {"size_mib": args.size_mib, "upload_status": status,
                                       "upload_mb_s": round(size / MiB / upload_s, 1),
                                       "upload_x_one_core_hashing":
                                           round(size / MiB / upload_s / one_core, 2),
                                       "download_mb_s": round(received / MiB / download_s, 1),
                                       "chunked_upload_status": chunked_status,
                                       "chunked_upload_mb_s": round(size / MiB / chunked_s, 1)}
            fill(images, args.images)
            figures["latency"] = {"images": args.images,
                                  **latencies(images, stack.token("admin"))}
            concurrent_size = args.concurrent_size_mib * MiB
            figures["concurrent_8"] = concurrent_uploads(images, 8, concurrent_size)
            figures["concurrent_32"] = concurrent_uploads(images, 32, concurrent_size)
        finally:
            stack.down()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
