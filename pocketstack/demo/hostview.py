"""What the host shows of a server: the hypervisor's usage (os-hypervisors,
as the admin sees it), the instance directory, the libvirt domain and vda's
backing file. Read-only; where computed keeps things is read from its own
config file (pocketstack/lab/host.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from pocketstack.cloud import Cloud
from pocketstack.lab import host
from shared.config import ConfigError, load_config
from shared.paths import StateLayout
from volumed.config import schema as volumed_schema


@dataclass(frozen=True)
class Usage:
    """What the servers' flavors take from the host (os-hypervisors/detail)."""
    vcpus: int
    vcpus_used: int
    memory_mb: int
    memory_mb_used: int
    local_gb: int
    local_gb_used: int
    running_vms: int

    @classmethod
    def read(cls, admin: Cloud) -> Usage:
        answer = admin.get("compute", "/os-hypervisors/detail")
        answer.raise_for_status()
        nodes = answer.json()["hypervisors"]
        return cls(*(sum(int(node[key]) for node in nodes) for key in (
            "vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "local_gb",
            "local_gb_used", "running_vms")))


def usage_table(columns: dict[str, Usage]) -> list[str]:
    """Rows of vCPUs, RAM and disk used, one column per moment."""
    names = list(columns)
    rows = [f"  {'':<20}" + "".join(f"{name:>16}" for name in names)]
    for label, attribute, unit in (("vCPUs used", "vcpus_used", ""),
                                   ("RAM used", "memory_mb_used", " MiB"),
                                   ("disk used", "local_gb_used", " GiB"),
                                   ("running servers", "running_vms", "")):
        cells = "".join(f"{str(getattr(columns[name], attribute)) + unit:>16}"
                        for name in names)
        rows.append(f"  {label:<20}{cells}")
    return rows


def instance_dir(state: StateLayout, server_id: str) -> Path:
    return host.instances_path(state) / server_id


def base_dir(state: StateLayout) -> Path:
    return host.instances_path(state) / "_base"


def domain_exists(state: StateLayout, server_id: str) -> bool:
    return host.domain_exists(state, server_id)


def disk_info(path: Path) -> dict:
    """qemu-img info of a disk file (shared lock: the guest may run)."""
    return host.qemu_img_info(path)


def iscsi_sources(state: StateLayout, server_id: str) -> list[str]:
    """Each network disk of the server's domain: its target device, the
    iSCSI target and portal, and the CHAP user (the password is in a
    libvirt secret, never in the XML)."""
    xml = host.domain_xml(state, server_id)
    if not xml:
        return []
    found = []
    for disk in ElementTree.fromstring(xml).iter("disk"):
        source = disk.find("source")
        if source is None or source.get("protocol") != "iscsi":
            continue
        target = disk.find("target")
        portal = source.find("host")
        auth = disk.find("auth") if disk.find("auth") is not None else source.find("auth")
        where = f"{portal.get('name')}:{portal.get('port')}" if portal is not None else "?"
        user = f", CHAP user {auth.get('username')}" if auth is not None else ""
        found.append(f"{target.get('dev') if target is not None else '?'} <- iSCSI "
                     f"{source.get('name')} at {where}{user} (password in a libvirt secret)")
    return found


def volume_head(state: StateLayout, volume_id: str) -> str | None:
    """The first line of a volume's first 512 bytes, read from the sparse
    file volumed's file backend keeps it in (volumed.conf's [volume]
    volumes_dir, else lib/volumes); None when it is kept elsewhere (Ceph)."""
    try:
        conf = load_config(volumed_schema(), state.config_file("volumed.conf"))
        directory = Path(conf.volume.volumes_dir) if conf.volume.volumes_dir \
            else state.lib / "volumes"
    except ConfigError:
        directory = state.lib / "volumes"
    path = directory / f"volume-{volume_id}"
    try:
        with path.open("rb") as data:
            head = data.read(512)
    except OSError:
        return None
    return head.split(b"\n", 1)[0].decode(errors="replace")
