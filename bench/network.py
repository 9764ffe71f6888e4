"""Networking benchmark: prints one JSON document of figures.

    .venv/bin/python -m bench.network [--samples 3] [--ports 30]

Starts a stack of its own (temporary state directory, shifted ports), then
measures, with the tiny image on the demo project's `private` network:
- server create to DHCP lease: POST /servers until the guest prints its
  leased address on the console (POCKETSTACK-NET), polling every 50 ms;
  it includes the build, the wait for the tap to be plugged and the boot;
- port create: median latency of POST /v2.0/ports (each port deleted after);
- ping between two guests of the default group: the second guest pings the
  first ten times and prints busybox's round-trip summary on its console.
Figures only; it asserts nothing.
"""
from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import time

from bench.harness import host_figures, own_stack
from bench.launch import POLL, TIMEOUT, Client
from tests.stack import Stack

LEASE = re.compile(r"^POCKETSTACK-NET: eth0 \S+ ([0-9.]+)/\d+", re.MULTILINE)
RTT = re.compile(r"round-trip min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms")
PINGER = "#!/bin/sh\nuntil ping -c 1 -W 1 {target} >/dev/null; do sleep 1; done\n" \
         "ping -c 10 {target}\n"


class NetworkClient(Client):
    def __init__(self, stack: Stack):
        super().__init__(stack)
        self.network = stack.url("networkd") + "/v2.0"
        networks = self.session.get(f"{self.network}/networks", params={"name": "private"},
                                    timeout=30).json()["networks"]
        self.private = networks[0]["id"]

    def launch_on_private(self, name: str, user_data: str | None = None) -> str:
        server = {"name": name, "imageRef": self.image_id(), "flavorRef": "1",
                  "networks": [{"uuid": self.private}]}
        if user_data is not None:
            server.update(config_drive=True,
                          user_data=base64.b64encode(user_data.encode()).decode())
        response = self.session.post(f"{self.compute}/servers", json={"server": server},
                                     timeout=60)
        response.raise_for_status()
        return response.json()["server"]["id"]

    def wait_console(self, server_id: str, pattern: re.Pattern) -> tuple[float, re.Match]:
        found: list[re.Match] = []

        def seen() -> bool:
            match = pattern.search(self.console(server_id))
            if match:
                found.append(match)
            return match is not None
        seconds = self.wait(seen, f"{pattern.pattern} on {server_id}'s console")
        return seconds, found[0]

    def port_create_seconds(self) -> float:
        started = time.perf_counter()
        response = self.session.post(f"{self.network}/ports", timeout=30,
                                     json={"port": {"network_id": self.private}})
        seconds = time.perf_counter() - started
        response.raise_for_status()
        self.session.delete(f"{self.network}/ports/{response.json()['port']['id']}", timeout=30)
        return seconds


def measure(client: NetworkClient, samples: int, ports: int) -> dict:
    figures: dict = {}
    lease, servers = [], []
    for index in range(samples):
        started = time.perf_counter()
        server_id = client.launch_on_private(f"lease-{index}")
        client.wait_console(server_id, LEASE)
        lease.append(time.perf_counter() - started)
        servers.append(server_id)
    figures["server_create_to_dhcp_lease_s"] = {"median": statistics.median(lease),
                                                "samples": lease}

    latencies = [client.port_create_seconds() * 1000 for _ in range(ports)]
    figures["port_create_ms"] = {"median": statistics.median(latencies),
                                 "max": max(latencies), "samples": len(latencies)}

    _, first = client.wait_console(servers[0], LEASE)
    pinger = client.launch_on_private("pinger", PINGER.format(target=first.group(1)))
    _, rtt = client.wait_console(pinger, RTT)
    figures["guest_to_guest_ping_rtt_ms"] = {"min": float(rtt.group(1)),
                                             "avg": float(rtt.group(2)),
                                             "max": float(rtt.group(3)), "count": 10}
    for server_id in [*servers, pinger]:
        client.delete(server_id)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--ports", type=int, default=30)
    args = parser.parse_args()
    with own_stack(42000) as stack:
        figures = measure(NetworkClient(stack), args.samples, args.ports)
    figures["poll_s"], figures["timeout_s"] = POLL, TIMEOUT
    figures["host"] = host_figures()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
