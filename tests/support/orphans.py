"""What a stack may leave behind on the host, one function per kind of
orphan: each compares what is on the host (files, libvirt, tgtd, the stack's
network namespace) with what the services' APIs say exists, and returns one
line per thing that nothing owns ([] when there is none).

`Truth.read(stack)` asks the APIs once, as admin, for every project's
servers, volumes, attachments, images, networks, ports and floating IPs;
`find_all(stack)` runs every check against it. The kill matrix
(tests/killmatrix/) runs them after each case; any test may run one.

A thing is an orphan when no live resource accounts for it: an image file of
no image (or a partial write), an instance directory or a libvirt domain of
no live server, a libvirt secret or an iSCSI target of no attachment, a LUN
whose file is not its volume's, a tap, a DHCP host line or an nftables rule
of no live port or associated floating IP.
"""
from __future__ import annotations

import configparser
import re
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import requests

from shared.netnames import stack_namespace

VOLUME_MICROVERSION = "volume 3.44"
EXPORTED = ("attaching", "attached")          # an attachment whose target must exist
SERVER_DIR_KEEPERS = {"_base", "locks", "snapshots"}
METADATA_NS = "urn:pocketstack:compute:instance:1"


@dataclass
class Truth:
    """What the APIs say exists, read once (as admin, every project)."""

    servers: dict[str, dict] = field(default_factory=dict)        # id -> server
    volumes: dict[str, dict] = field(default_factory=dict)        # id -> volume
    attachments: dict[str, dict] = field(default_factory=dict)    # id -> attachment
    images: dict[str, dict] = field(default_factory=dict)         # id -> image
    networks: dict[str, dict] = field(default_factory=dict)
    ports: dict[str, dict] = field(default_factory=dict)
    floating_ips: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def read(cls, stack) -> Truth:
        login = stack.login("admin")
        assert login.status_code == 201, login.text
        token = login.headers["X-Subject-Token"]
        project = login.json()["token"]["project"]["id"]
        headers = {"X-Auth-Token": token}

        def get(url: str, key: str, **params) -> list[dict]:
            response = requests.get(url, headers=headers, params=params, timeout=60)
            assert response.status_code == 200, f"GET {url}: {response.status_code} " \
                                                f"{response.text}"
            return response.json()[key]

        truth = cls()
        compute = stack.url("computed") + "/v2.1"
        truth.servers = {s["id"]: s for s in get(f"{compute}/servers/detail", "servers",
                                                   all_tenants="1", limit="1000")}
        volume_url = f"{stack.url('volumed')}/v3/{project}"
        headers["OpenStack-API-Version"] = VOLUME_MICROVERSION
        truth.volumes = {v["id"]: v for v in get(f"{volume_url}/volumes/detail", "volumes",
                                                   all_tenants="1")}
        truth.attachments = volumed_attachments(stack)
        del headers["OpenStack-API-Version"]
        images_url = stack.url("imaged") + "/v2/images"
        truth.images = {i["id"]: i for i in get(images_url, "images", limit="1000")}
        network = stack.url("networkd") + "/v2.0"
        truth.networks = {n["id"]: n for n in get(f"{network}/networks", "networks")}
        truth.ports = {p["id"]: p for p in get(f"{network}/ports", "ports")}
        truth.floating_ips = {f["id"]: f for f in get(f"{network}/floatingips",
                                                        "floatingips")}
        return truth

    def busy(self) -> list[str]:
        """Resources still in a transient state: their flows may still be
        making or removing things, so orphans are only judged once this is
        empty."""
        busy = [f"server {i} {s['status']}/{s.get('OS-EXT-STS:task_state')}"
                for i, s in self.servers.items()
                if s["status"] == "BUILD" or s.get("OS-EXT-STS:task_state")]
        busy += [f"volume {i} {v['status']}" for i, v in self.volumes.items()
                 if v["status"] in TRANSIENT_VOLUME]
        busy += [f"image {i} {m['status']}" for i, m in self.images.items()
                 if m["status"] in ("saving", "importing")]
        return busy


def volumed_attachments(stack) -> dict[str, dict]:
    """Every project's live attachments, read from volumed's database:
    its API lists one project's only, and a volume shows its attached ones
    only (not those reserved or attaching)."""
    database = stack.state_dir / "lib" / "volumed.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        rows = connection.execute("SELECT id, volume_id, instance_uuid, attach_status "
                                  "FROM attachments WHERE NOT deleted").fetchall()
    return {row[0]: {"id": row[0], "volume_id": row[1], "instance_id": row[2],
                     "status": row[3]} for row in rows}


TRANSIENT_VOLUME = ("creating", "downloading", "attaching", "detaching", "deleting",
                    "extending", "uploading", "backing-up", "restoring-backup", "reserved",
                    "retyping")


# --- files ----------------------------------------------------------------------------
def image_files(stack, truth: Truth) -> list[str]:
    """The file store and the staging area: a file per image that has data
    there; a partial or converted file only while the upload or import runs."""
    found = []
    store = stack.state_dir / "lib" / "images"
    for path in sorted(store.glob("*")) if store.exists() else []:
        image = truth.images.get(path.name)
        if image is None:
            found.append(f"image file {path.name}: no such image")
        elif image["status"] not in ("active", "deactivated"):
            found.append(f"image file {path.name}: the image is {image['status']}")
    staging = stack.state_dir / "lib" / "imaged" / "staging"
    for path in sorted(staging.glob("*")) if staging.exists() else []:
        image_id, _, suffix = path.name.partition(".")
        image = truth.images.get(image_id)
        if suffix or image is None or image["status"] != "uploading":
            found.append(f"staged file {path.name}: "
                         f"{'no such image' if image is None else image['status']}")
    return found


def instance_directories(stack, truth: Truth) -> list[str]:
    """<instances>/<uuid> of live servers only; no <uuid>_del or
    <uuid>_resize left, no snapshot copy, no half-downloaded cached image."""
    instances = stack.state_dir / "lib" / "instances"
    found = []
    for path in sorted(instances.iterdir()) if instances.exists() else []:
        if path.name in SERVER_DIR_KEEPERS:
            continue
        if path.name not in truth.servers:
            found.append(f"instance directory {path.name}: no live server")
    snapshots = instances / "snapshots"
    for path in sorted(snapshots.glob("*")) if snapshots.exists() else []:
        found.append(f"snapshot copy {path.name}")
    incomplete = stack.state_dir / "lib" / "image-cache" / "incomplete"
    for path in sorted(incomplete.glob("*")) if incomplete.exists() else []:
        found.append(f"incomplete image cache file {path.name}")
    return found


def volume_files(stack, truth: Truth) -> list[str]:
    """<volumes>/<id> of live volumes only, and no temporary file."""
    volumes = stack.state_dir / "lib" / "volumes"
    found = []
    for path in sorted(volumes.iterdir()) if volumes.exists() else []:
        volume_id = path.name.removeprefix("volume-")
        if path.name.startswith(".tmp-"):
            found.append(f"volume temporary file {path.name}")
        elif volume_id not in truth.volumes and not _is_snapshot_file(path.name):
            found.append(f"volume file {path.name}: no live volume")
    return found


def _is_snapshot_file(name: str) -> bool:
    return name.startswith("snapshot-") or ".snap" in name


# --- libvirt --------------------------------------------------------------------------
def node_uuid(stack) -> str:
    """This stack's compute node: the label its domains and secrets carry."""
    database = stack.state_dir / "lib" / "computed.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        rows = connection.execute("SELECT uuid FROM compute_nodes").fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def _virsh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True,
                          text=True, timeout=60)


def stack_domains(stack) -> dict[str, str]:
    """This stack's libvirt domains (their PocketStack metadata names its
    node): uuid -> state."""
    node = node_uuid(stack)
    domains = {}
    listing = _virsh("list", "--all", "--uuid").stdout.split()
    for uuid in listing:
        metadata = _virsh("metadata", uuid, METADATA_NS)
        if metadata.returncode != 0:
            continue  # not ours (no metadata) or gone meanwhile
        try:
            labels = {child.tag.split("}", 1)[-1]: child.text
                      for child in ET.fromstring(metadata.stdout)}
        except ET.ParseError:
            continue
        if labels.get("node") == node:
            domains[uuid] = _virsh("domstate", uuid).stdout.strip()
    return domains


def libvirt_domains(stack, truth: Truth) -> list[str]:
    """A domain of no live server, or of a server whose build failed (ERROR
    with no host: nothing of it should be left on the host)."""
    found = []
    for uuid, state in stack_domains(stack).items():
        server = truth.servers.get(uuid)
        if server is None:
            found.append(f"libvirt domain {uuid} ({state}): no live server")
        elif server["status"] == "ERROR" and not server.get("OS-EXT-SRV-ATTR:host"):
            found.append(f"libvirt domain {uuid} ({state}): its server's build failed")
    return found


def domain_volume_disks(stack, truth: Truth) -> list[str]:
    """A live server's domain has an iSCSI disk for each volume attached to
    it, and no other (a disk an undo could not unplug stays in the guest)."""
    found = []
    for uuid in stack_domains(stack):
        if uuid not in truth.servers:
            continue  # libvirt_domains says so already
        held = {a["volume_id"] for a in truth.attachments.values()
                if a["instance_id"] == uuid and a["status"] in EXPORTED}
        listing = _virsh("domblklist", uuid, "--details").stdout.splitlines()
        for line in listing[2:]:
            fields = line.split()
            if len(fields) == 4 and fields[0] == "network":
                volume_id = fields[3].split("volume-", 1)[-1].split("/", 1)[0]
                if volume_id not in held:
                    found.append(f"disk {fields[2]} of domain {uuid} ({fields[3]}): "
                                 f"no attachment of that volume to the server")
    return found


def node_secrets(node: str) -> dict[str, str]:
    """{secret uuid: usage} of compute node `node`'s libvirt secrets: the
    CHAP passwords of its attachments (pocketstack/<node>/<attachment id>)
    and its RBD key (pocketstack-disks/<node>/client.<user>). libvirtd is
    the machine's: other stacks' secrets are in the same list."""
    found = {}
    for line in _virsh("secret-list").stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 2 and f"/{node}/" in parts[-1]:
            found[parts[0]] = parts[-1]
    return found


def libvirt_secrets(stack, truth: Truth) -> list[str]:
    """Each secret of this node is the CHAP password of one attachment
    (usage pocketstack/<node>/<attachment id>) that is still exported."""
    prefix = f"pocketstack/{node_uuid(stack)}/"
    found = []
    for secret_uuid, usage in node_secrets(node_uuid(stack)).items():
        if not usage.startswith(prefix):
            continue
        attachment = truth.attachments.get(usage[len(prefix):])
        if attachment is None or attachment["status"] not in EXPORTED:
            found.append(f"libvirt secret {secret_uuid} ({usage}): "
                         f"{'no attachment' if attachment is None else attachment['status']}")
    return found


# --- tgtd -----------------------------------------------------------------------------
def tgt_control_port(stack) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(stack.state_dir / "etc" / "volumed.conf")
    control = parser.get("volume", "target_control_port", fallback=None)
    if control is None:
        import json
        control = str(json.loads((stack.state_dir / "run" / "tgtd.json").read_text())
                      ["control_port"])
    return control


def tgt_exports(stack) -> dict[str, list[str]]:
    """tgtadm's targets of this stack's tgtd: IQN -> the files of its LUNs."""
    shown = subprocess.run(["tgtadm", "-C", tgt_control_port(stack), "--lld", "iscsi",
                            "--mode", "target", "--op", "show"], capture_output=True,
                           text=True, timeout=30)
    exports: dict[str, list[str]] = {}
    current = None
    for line in shown.stdout.splitlines():
        target = re.match(r"^Target \d+: (\S+)", line)
        if target:
            current = target.group(1)
            exports[current] = []
            continue
        backing = re.match(r"^\s+Backing store path: (\S+)", line)
        if backing and current and backing.group(1) != "None":
            exports[current].append(backing.group(1))
    return exports


def iscsi_targets(stack, truth: Truth) -> list[str]:
    """Each target is one exported attachment's (its IQN names the volume),
    and its LUN is that volume's file."""
    exported = {a["volume_id"] for a in truth.attachments.values()
                if a["status"] in EXPORTED}
    found = []
    for iqn, luns in tgt_exports(stack).items():
        volume_id = iqn.rsplit("volume-", 1)[-1]
        if volume_id not in exported:
            found.append(f"iSCSI target {iqn}: no exported attachment")
        for lun in luns:
            if volume_id not in lun or not Path(lun).exists():
                found.append(f"iSCSI LUN {lun} of {iqn}: not that volume's file")
    return found


# --- the network namespace ------------------------------------------------------------
def _in_namespace(stack, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", stack_namespace(stack.state_dir), *argv],
                          capture_output=True, text=True, timeout=30).stdout


def _live_compute_ports(truth: Truth) -> dict[str, dict]:
    return {i: p for i, p in truth.ports.items()
            if p.get("device_owner", "").startswith("compute:")
            and p.get("device_id") in truth.servers}


def taps(stack, truth: Truth) -> list[str]:
    """A tap in the stack's namespace belongs to a port of a live server
    (its name is tap + the port id's first 11 characters)."""
    live = {f"tap{port_id[:11]}" for port_id in _live_compute_ports(truth)}
    found = []
    for line in _in_namespace(stack, "ip", "-br", "link").splitlines():
        name = line.split()[0].split("@")[0] if line.strip() else ""
        if name.startswith("tap") and name not in live:
            found.append(f"tap {name}: no port of a live server")
    return found


def dhcp_leases(stack, truth: Truth) -> list[str]:
    """Each network's dnsmasq hands out the addresses of its ports only
    (its hosts file is its leases: dnsmasq runs with static leases), and
    only networks that exist have a DHCP directory."""
    found = []
    dhcp = stack.state_dir / "lib" / "networkd" / "dhcp"
    wanted = {(p["mac_address"].lower(), ip["ip_address"])
              for p in truth.ports.values() for ip in p.get("fixed_ips", [])}
    for directory in sorted(dhcp.iterdir()) if dhcp.exists() else []:
        if directory.name not in truth.networks:
            found.append(f"DHCP directory of network {directory.name}: no such network")
        hosts = directory / "hosts"
        for line in hosts.read_text().splitlines() if hosts.exists() else []:
            fields = line.split(",")
            if len(fields) >= 3 and (fields[0].lower(), fields[-1]) not in wanted:
                found.append(f"DHCP lease {line} (network {directory.name}): no such port")
    return found


def nftables_rules(stack, truth: Truth) -> list[str]:
    """Per-port chains (anti-spoofing, security groups) of live ports only,
    and floating IP NAT rules of associated floating IPs only."""
    ruleset = _in_namespace(stack, "nft", "list", "ruleset")
    ports = {port_id.replace("-", "_") for port_id in truth.ports}
    found = []
    for kind, chain_port in re.findall(r"chain (spoof|egress|ingress)_([0-9a-f_]{36})",
                                       ruleset):
        if chain_port not in ports:
            found.append(f"nftables chain {kind}_{chain_port}: no such port")
    taps_in_rules = set(re.findall(r'"(tap[0-9a-f-]{11})"', ruleset))
    live_taps = {f"tap{port_id[:11]}" for port_id in truth.ports}
    found += [f"nftables rule for {tap}: no such port" for tap in sorted(taps_in_rules - live_taps)]
    associated = {(f["floating_ip_address"], f["fixed_ip_address"])
                  for f in truth.floating_ips.values() if f.get("port_id")}
    for public, private in re.findall(r"ip daddr (\S+) dnat ip to (\S+)", ruleset):
        if (public, private) not in associated:
            found.append(f"nftables DNAT {public} -> {private}: no such association")
    for private, public in re.findall(r"ip saddr (\S+) snat ip to (\S+)", ruleset):
        if "/" not in private and (public, private) not in associated:
            found.append(f"nftables SNAT {private} -> {public}: no such association")
    return found


CHECKS = (image_files, instance_directories, volume_files, libvirt_domains,
          domain_volume_disks, libvirt_secrets, iscsi_targets, taps, dhcp_leases,
          nftables_rules)


def find_all(stack, truth: Truth | None = None) -> list[str]:
    """Every orphan of the stack, by every check above."""
    truth = truth or Truth.read(stack)
    found = []
    for check in CHECKS:
        found += check(stack, truth)
    return found
