"""Server create to the first successful SSH command: prints JSON figures.

    .venv/bin/python -m bench.ssh_ready [--samples 5]

Starts a stack of its own, makes a key pair, opens tcp 22 in the demo
project's default group, launches one server to warm the image cache, then
`--samples` servers one after the other (the tiny image, flavor m1.nano, the
demo project's `private` network), each timed from POST /servers through
the phases `pocketstack ssh --wait` follows:

    api_to_active_s     POST /servers until the server is ACTIVE
    active_to_lease_s   ACTIVE until the guest answers ARP for its fixed IP
    lease_to_ssh_s      the lease until `true` ran over SSH (host key checked)
    total_s             the sum

Medians and samples; the target is a median total of 8 s on a 2-core
machine under TCG. Figures only; it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import host_figures, own_stack
from pocketstack.cloud import Cloud
from pocketstack.ssh import hostkeys, relay, target
from pocketstack.ssh.command import stack_namespace_of
from pocketstack.ssh.session import connect
from pocketstack.ssh.wait import Progress, Timeline, wait_until_reachable
from shared.paths import StateLayout

KEY_NAME = "bench-ssh"
TIMEOUT = 300.0


def launch(cloud: Cloud, name: str, image_id: str) -> str:
    answer = cloud.post("compute", "/servers", {"server": {
        "name": name, "imageRef": image_id, "flavorRef": "1", "key_name": KEY_NAME}})
    answer.raise_for_status()
    return answer.json()["server"]["id"]


def first_command_seconds(cloud: Cloud, server_id: str, namespace: str, key: Path,
                          timeline: Timeline) -> float:
    """Wait through the phases, then until `true` runs; the time it did."""
    wait_until_reachable(cloud, server_id, namespace, 22, TIMEOUT, Progress(quiet=True),
                         timeline)
    server = target.refresh(cloud, server_id)
    keys = hostkeys.parse(target.console(cloud, server_id))
    with connect(target.choose_address(server), 22, namespace, "root", keys, [key]) as client:
        status = relay.run_command(client, "true")
    if status != 0:
        raise RuntimeError(f"`true` exited {status} on {server_id}")
    return timeline.mark("first command")


def measure(cloud: Cloud, namespace: str, key: Path, samples: int) -> dict:
    image_id = cloud.get("image", "/v2/images", name="pocketstack-tiny").json()["images"][0]["id"]
    runs = []
    for index in range(samples + 1):          # the first one warms the image cache
        timeline = Timeline()
        server_id = launch(cloud, f"ssh-ready-{index}", image_id)
        first_command_seconds(cloud, server_id, namespace, key, timeline)
        cloud.http.delete(cloud.url("compute", f"/servers/{server_id}"), timeout=30)
        if index:
            at = timeline.reached
            runs.append({"api_to_active_s": at["ACTIVE"],
                         "active_to_lease_s": at["DHCP lease"] - at["ACTIVE"],
                         "lease_to_ssh_s": at["first command"] - at["DHCP lease"],
                         "total_s": at["first command"]})
        time.sleep(1)                           # let the delete finish before the next
    return {name: {"median": round(statistics.median(r[name] for r in runs), 3),
                   "samples": [round(r[name], 3) for r in runs]}
            for name in ("api_to_active_s", "active_to_lease_s", "lease_to_ssh_s", "total_s")}


def prepare(cloud: Cloud, directory: Path) -> Path:
    """The key pair (private half in `directory`) and tcp 22 in `default`."""
    cloud.http.delete(cloud.url("compute", f"/os-keypairs/{KEY_NAME}"), timeout=30)
    made = cloud.post("compute", "/os-keypairs", {"keypair": {"name": KEY_NAME}})
    made.raise_for_status()
    key = directory / KEY_NAME
    key.write_text(made.json()["keypair"]["private_key"])
    key.chmod(0o600)
    groups = cloud.get("network", "/v2.0/security-groups", name="default").json()
    rule = {"security_group_id": groups["security_groups"][0]["id"], "direction": "ingress",
            "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
            "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}
    answer = cloud.post("network", "/v2.0/security-group-rules", {"security_group_rule": rule})
    if answer.status_code not in (201, 409):
        answer.raise_for_status()
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with own_stack(38000) as stack, tempfile.TemporaryDirectory() as keys:
        state = StateLayout(stack.state_dir)
        cloud = Cloud.login(state.clouds_yaml, "pocketstack")
        key = prepare(cloud, Path(keys))
        figures = measure(cloud, stack_namespace_of(state), key, args.samples)
    figures["target_total_median_s"] = 8.0
    figures["host"] = host_figures()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
