"""Compute launch benchmark: prints one JSON document of figures.

    .venv/bin/python -m bench.launch [--samples 3] [--concurrent 10]

Starts a stack of its own (temporary state directory, shifted ports; the
tiny image's build is reused from $POCKETSTACK_IMAGE_CACHE if set), then
measures, with the tiny image and m1.nano, polling every 50 ms:
- warm launch: POST /servers until ACTIVE (the domain runs, as Nova says
  ACTIVE), with the image already in the compute cache (_base);
- cold launch: the same with an image never booted before (a fresh upload
  of the same bytes: download, checksum, inspection, conversion included);
- ACTIVE to the guest's POCKETSTACK-BOOTED line on its console (TCG boot);
- delete: DELETE until the server answers 404;
- N concurrent launches (one POST each, at once): time until all ACTIVE.
Figures only; it asserts nothing (target: warm launch to ACTIVE within 1 s).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import statistics
import time

import requests

from bench.harness import host_figures, own_stack
from tests.stack import Stack

POLL = 0.05  # finer polling costs the one API worker CPU it then lacks
TIMEOUT = 300.0


class Client:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.token = stack.token("demo")
        self.compute = stack.url("computed") + "/v2.1"
        self.images = stack.url("imaged") + "/v2/images"
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = self.token

    def image_id(self, name: str = "pocketstack-tiny") -> str:
        images = self.session.get(self.images, params={"name": name}, timeout=30).json()
        return [i for i in images["images"] if i["status"] == "active"][0]["id"]

    def fresh_copy_of_tiny(self) -> str:
        """The tiny image's bytes as a new image: never in the compute cache."""
        admin = requests.Session()
        admin.headers["X-Auth-Token"] = self.stack.token("admin")
        data = admin.get(f"{self.images}/{self.image_id()}/file", timeout=60).content
        image = self.session.post(self.images, timeout=30, json={
            "name": f"bench-cold-{time.time_ns()}", "disk_format": "qcow2",
            "container_format": "bare"}).json()
        response = self.session.put(f"{self.images}/{image['id']}/file", data=data, timeout=60,
                                    headers={"Content-Type": "application/octet-stream"})
        response.raise_for_status()
        return image["id"]

    def launch(self, image_id: str, name: str) -> str:
        response = self.session.post(f"{self.compute}/servers", timeout=60, json={"server": {
            "name": name, "imageRef": image_id, "flavorRef": "1"}})
        response.raise_for_status()
        return response.json()["server"]["id"]

    def status(self, server_id: str) -> tuple[int, str | None]:
        response = self.session.get(f"{self.compute}/servers/{server_id}", timeout=30)
        return response.status_code, (response.json()["server"]["status"]
                                      if response.status_code == 200 else None)

    def wait(self, predicate, what: str) -> float:
        started = time.perf_counter()
        while not predicate():
            if time.perf_counter() - started > TIMEOUT:
                raise RuntimeError(f"{what}: not within {TIMEOUT:.0f} s")
            time.sleep(POLL)
        return time.perf_counter() - started

    def wait_active(self, server_id: str) -> None:
        def active():
            code, status = self.status(server_id)
            if status == "ERROR":
                raise RuntimeError(f"server {server_id} went to ERROR")
            return status == "ACTIVE"
        self.wait(active, f"server {server_id} ACTIVE")

    def events(self, server_id: str, **filters) -> list[dict]:
        """computed's events about the server (GET /pocketstack/v1/events)."""
        return self.session.get(f"{self.stack.url('computed')}/pocketstack/v1/events",
                                params={"resource_id": server_id, "limit": 100, **filters},
                                timeout=30).json()["events"]

    def flow_seconds(self, server_id: str) -> float | None:
        """computed's own measure: the launch flow, from its start to ACTIVE."""
        events = self.events(server_id, type="compute.instance.create.end")
        return events[0]["payload"].get("seconds") if events else None

    def build_steps(self, server_id: str, posted_at: float) -> dict[str, float]:
        """When each step of the build ended, in seconds after the POST
        (`posted_at`, a time.time()): computed's own events, one per step
        (computed/flows/launch.py)."""
        events = self.events(server_id)
        prefix = "compute.instance."
        return {event["event_type"].removeprefix(prefix): round(
                    dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
                    .timestamp() - posted_at, 3)
                for event in events if event["event_type"].startswith(prefix)}

    def console(self, server_id: str) -> str:
        response = self.session.post(f"{self.compute}/servers/{server_id}/action",
                                     json={"os-getConsoleOutput": {}}, timeout=30)
        return response.json().get("output", "")

    def delete(self, server_id: str) -> float:
        started = time.perf_counter()
        self.session.delete(f"{self.compute}/servers/{server_id}", timeout=60)
        self.wait(lambda: self.status(server_id)[0] == 404, f"server {server_id} gone")
        return time.perf_counter() - started


def timed_launch(client: Client, image_id: str, name: str) -> tuple[str, float]:
    started = time.perf_counter()
    server_id = client.launch(image_id, name)
    client.wait_active(server_id)
    return server_id, time.perf_counter() - started


def measure(client: Client, samples: int, count: int) -> dict:
    tiny = client.image_id()
    figures: dict = {}

    cold_image = client.fresh_copy_of_tiny()
    server_id, figures["cold_launch_to_active_s"] = timed_launch(client, cold_image, "cold")
    client.delete(server_id)

    warm, flow, boot, delete = [], [], [], []
    for index in range(samples):
        server_id, seconds = timed_launch(client, tiny, f"warm-{index}")
        warm.append(seconds)
        flow.append(client.flow_seconds(server_id))
        boot.append(client.wait(lambda booting=server_id:
                                "POCKETSTACK-BOOTED" in client.console(booting),
                                "the boot marker"))
        delete.append(client.delete(server_id))
    figures["warm_launch_to_active_s"] = {"median": statistics.median(warm),
                                          "samples": warm}
    figures["warm_launch_flow_in_computed_s"] = {"median": statistics.median(flow),
                                                 "samples": flow}
    figures["active_to_boot_marker_s"] = {"median": statistics.median(boot), "samples": boot}
    figures["delete_to_gone_s"] = {"median": statistics.median(delete), "samples": delete}

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda i: timed_launch(client, tiny, f"many-{i}"),
                                range(count)))
    all_active = time.perf_counter() - started
    each = [seconds for _, seconds in results]
    figures[f"concurrent_{count}_launches"] = {
        "all_active_s": all_active, "median_to_active_s": statistics.median(each),
        "max_to_active_s": max(each)}
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        gone = list(pool.map(lambda result: client.delete(result[0]), results))
    figures[f"concurrent_{count}_deletes_max_s"] = max(gone)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=10)
    args = parser.parse_args()
    with own_stack(41000) as stack:
        figures = measure(Client(stack), args.samples, args.concurrent)
    figures["host"] = host_figures()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
