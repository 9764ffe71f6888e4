"""What the compute, volume and network labs' checks look at besides the
APIs: a service's events, and the host as the stack's services left it
(instance directories, libvirt domains, tgtd's targets, the stack's network
namespace). Read-only: every command here only shows.

Where a service keeps things is read from its own config file (computed's
instances_path, volumed's tgtd control port, networkd's namespace), so a
check looks where the service really looks.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from computed.config import schema as computed_schema
from pocketstack.cloud import Cloud
from pocketstack.ssh.command import stack_namespace_of
from shared.config import ConfigError, load_config
from shared.paths import StateLayout
from volumed.config import schema as volumed_schema

TIMEOUT = 30


def events(cloud: Cloud, service_type: str, **filters: str) -> list[dict]:
    """GET /pocketstack/v1/events of the service behind `service_type`
    (at the root of its endpoint), newest first."""
    parts = urlsplit(cloud.url(service_type, ""))
    url = f"{parts.scheme}://{parts.netloc}/pocketstack/v1/events"
    answer = cloud.http.get(url, params={"limit": "1000", **filters}, timeout=TIMEOUT)
    answer.raise_for_status()
    return answer.json()["events"]


def instance_events(cloud: Cloud, event_type: str, name: str) -> list[dict]:
    """computed's events of type `event_type` about servers named `name`,
    newest first (a deleted server is still found this way)."""
    return [event for event in events(cloud, "compute", type=event_type)
            if event["payload"].get("display_name") == name]


def instances_path(state: StateLayout) -> Path:
    """computed.conf's [compute] instances_path, else lib/instances."""
    try:
        conf = load_config(computed_schema(), state.config_file("computed.conf"))
    except ConfigError:
        return state.lib / "instances"
    return Path(conf.compute.instances_path) if conf.compute.instances_path \
        else state.lib / "instances"


def libvirt_uri(state: StateLayout) -> str:
    try:
        return load_config(computed_schema(), state.config_file("computed.conf")).libvirt.uri
    except ConfigError:
        return "qemu:///system"


def domain_exists(state: StateLayout, server_id: str) -> bool:
    """Does libvirt know a domain with the server's uuid?"""
    return run("virsh", "-c", libvirt_uri(state), "domstate", server_id).returncode == 0


def domain_xml(state: StateLayout, server_id: str) -> str:
    return run("virsh", "-c", libvirt_uri(state), "dumpxml", server_id).stdout


def qemu_img_info(path: Path) -> dict:
    """`qemu-img info -U` (sharing the lock of a running guest) as JSON."""
    done = run("qemu-img", "info", "-U", "--output=json", str(path))
    return json.loads(done.stdout) if done.returncode == 0 else {}


def tgt_targets(state: StateLayout) -> str:
    """tgtadm's view of the targets of the stack's own tgtd (its control
    port is volumed.conf's [volume] target_control_port)."""
    try:
        conf = load_config(volumed_schema(), state.config_file("volumed.conf"))
        control = conf.volume.target_control_port
    except ConfigError:
        return ""
    return run("tgtadm", "-C", str(control), "--lld", "iscsi", "--mode", "target",
               "--op", "show").stdout


def in_namespace(state: StateLayout, *command: str) -> str:
    """The output of a read-only command run in the stack's network namespace."""
    return run("ip", "netns", "exec", stack_namespace_of(state), *command).stdout


def run(*argv: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(argv, 127, "", str(error))
