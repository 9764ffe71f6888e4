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
- create latency and "list 25 of N images" latency (medians);
- 8 and 32 concurrent uploads: failures and aggregate MB/s.
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

from tests.stack import Stack, port_offset_for

MIB = 1024 * 1024
CHUNK = 4 * MIB


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
    return size / MIB / (time.perf_counter() - started)


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
    return size / MIB / elapsed


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

    def upload_file(self, image_id: str, path: Path) -> int:
        """PUT of a file with Content-Length: http.client sends the request
        head, the socket's sendfile() the body."""
        url = urlsplit(f"{self.url}/{image_id}/file")
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        try:
            connection.putrequest("PUT", url.path)
            for name, value in self._headers(path.stat().st_size).items():
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
    return {"uploads": count, "size_mib": size // MIB, "failures": failures,
            "statuses": sorted(set(statuses)), "aggregate_mb_s": round(count * size / MIB / elapsed, 1)}


def list_latency(images: Images, total: int, samples: int = 50) -> dict:
    existing = len(images.session.get(images.url, params={"limit": 1000}).json()["images"])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: images.create(f"listed-{i:05d}"), range(max(0, total - existing))))
    latencies = []
    for _ in range(samples):
        elapsed, response = timed(images.session.get, images.url, {"limit": 25})
        assert response.status_code == 200 and len(response.json()["images"]) == 25
        latencies.append(elapsed * 1000)
    return {"images": total, "list_25_median_ms": round(statistics.median(latencies), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--concurrent-size-mib", type=int, default=32)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="pocketstack-bench-") as tmp:
        stack = Stack(Path(tmp), port_offset_for("bench", base=40000))
        result = stack.up()
        if result.returncode:
            raise SystemExit(result.stderr)
        try:
            images = Images(stack)
            source = payload_file(Path(tmp), size)
            figures = {"machine": {"md5_sha512_one_core_mb_s": round(hashing_rate(min(size, 512 * MIB)), 1),
                                   "disk_write_mb_s": round(disk_write_rate(Path(tmp), min(size, 1024 * MIB)), 1),
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
            source.unlink()
            figures["single_image"] = {"size_mib": args.size_mib, "upload_status": status,
                                       "upload_mb_s": round(size / MIB / upload_s, 1),
                                       "download_mb_s": round(received / MIB / download_s, 1),
                                       "chunked_upload_status": chunked_status,
                                       "chunked_upload_mb_s": round(size / MIB / chunked_s, 1)}
            creates = [timed(images.create, f"create-{i}")[0] * 1000 for i in range(200)]
            figures["create_median_ms"] = round(statistics.median(creates), 2)
            figures["list"] = list_latency(images, args.images)
            concurrent_size = args.concurrent_size_mib * MIB
            figures["concurrent_8"] = concurrent_uploads(images, 8, concurrent_size)
            figures["concurrent_32"] = concurrent_uploads(images, 32, concurrent_size)
        finally:
            stack.down()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
