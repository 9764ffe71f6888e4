"""A hypervisor for computed's unit tests: it implements the ComputeDriver
interface (an abstract class: a fake that misses an operation cannot even be
made) and keeps its guests and secrets in dicts the tests can look at; and
the other services' calls computed makes, recorded (FakeImages,
FakeVolumes, FakeNetwork). The real services are tested against the real
stack (tests/api, tests/e2e, tests/compute)."""
from __future__ import annotations

import hashlib
import itertools
import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from computed.db.models import Base
from computed.domain import states
from computed.domain.claims import HostInventory, QuotaLimits
from computed.flows import Deps, Settings
from computed.imagecache import ImageCache
from computed.virt.driver import (
    ComputeDriver,
    ConsoleUnavailable,
    GuestNotFound,
    GuestState,
    HostInfo,
    HypervisorError,
)
from computed.virt.guest import FileDisk, GuestSpec, LocalDisk, Nic, VolumeSpec, domain_xml
from computed.virt.imagebackend import FileDisks
from shared.clients import Caller, RemoteError
from shared.db import make_engine, session_factory
from shared.events import Notifier, create_tables

NODE = "node-1"


class FakeDriver(ComputeDriver):
    def __init__(self, node: str = NODE, run_as_root: bool = True):
        self.node = node
        self.run_as_root = run_as_root
        self.guests: dict[str, GuestState] = {}     # by server uuid
        self.secrets: dict[str, str] = {}           # secret uuid -> usage
        self.volumes: dict[str, list[str]] = {}     # domain name -> devices
        self.kept_volumes: set[str] = set()         # devices the guest does not let go
        self.nics: dict[str, list[str]] = {}        # domain name -> MACs
        self.media: dict[str, tuple[FileDisk, int]] = {}  # domain -> (drive, power then)
        self.extended: list[tuple[str, str, int]] = []  # (domain, device, bytes)
        self.spawned: list[GuestSpec] = []
        self.destroyed: list[str] = []
        self.console_sockets: dict[str, Path] = {}  # domain name -> a test's listener

    def add(self, uuid: str, power: int, node: str = NODE) -> None:
        """A guest as if an earlier computed had made it."""
        self.guests[uuid] = GuestState(f"instance-{uuid[:8]}", uuid, power, {"node": node})

    def _find(self, domain_name: str) -> GuestState:
        for guest in self.guests.values():
            if guest.domain_name == domain_name:
                return guest
        raise GuestNotFound(f"domain {domain_name} does not exist")

    def _set_power(self, domain_name: str, power: int) -> None:
        guest = self._find(domain_name)
        self.guests[guest.uuid] = GuestState(guest.domain_name, guest.uuid, power,
                                             guest.labels)

    # --- the host -------------------------------------------------------------------------
    def init_host(self) -> None:
        pass

    def host_info(self) -> HostInfo:
        return HostInfo(vcpus=2, memory_mb=4096, hypervisor_type="QEMU",
                        hypervisor_version=7002022, virt_type=self.virt_type,
                        cpu_model="fake", hostname="fake-host", arch="riscv64",
                        cpu={"arch": "riscv64", "model": "fake", "vendor": "fake",
                             "topology": {"cells": 1, "sockets": 1, "cores": 2, "threads": 1},
                             "features": ["fake-feature"]})

    @property
    def virt_type(self) -> str:
        return "qemu"

    def instance_dir_mode(self) -> int:
        return 0o700 if self.run_as_root else 0o755

    # --- a guest's life -------------------------------------------------------------------
    def guest_xml(self, guest: GuestSpec) -> str:
        return domain_xml(guest, self.virt_type, self.run_as_root)

    def spawn(self, guest: GuestSpec, paused: bool = False) -> None:
        self.spawned.append(guest)
        power = states.PAUSED_POWER if paused else states.RUNNING
        self.guests[guest.uuid] = GuestState(guest.domain_name, guest.uuid, power,
                                             {"node": self.node, **guest.labels})
        self.nics[guest.domain_name] = [nic.mac_address for nic in guest.nics]

    def insert_medium(self, domain_name: str, drive: FileDisk) -> None:
        self.media[domain_name] = (drive, self._find(domain_name).power_state)

    def define(self, guest: GuestSpec) -> None:
        self.spawned.append(guest)
        self.guests[guest.uuid] = GuestState(guest.domain_name, guest.uuid, states.SHUTDOWN,
                                             {"node": self.node, **guest.labels})
        self.nics[guest.domain_name] = [nic.mac_address for nic in guest.nics]

    def destroy(self, domain_name: str) -> None:
        self.destroyed.append(domain_name)
        self.guests = {u: g for u, g in self.guests.items() if g.domain_name != domain_name}

    def power_state(self, domain_name: str) -> int:
        try:
            return self._find(domain_name).power_state
        except GuestNotFound:
            return states.NOSTATE

    def list_guests(self) -> list[GuestState]:
        return [g for g in self.guests.values() if g.labels.get("node") == self.node]

    def power_off(self, domain_name: str, timeout: float) -> None:
        self._set_power(domain_name, states.SHUTDOWN)

    def power_on(self, domain_name: str) -> None:
        self._set_power(domain_name, states.RUNNING)

    def reboot(self, domain_name: str, hard: bool, timeout: float) -> None:
        self._set_power(domain_name, states.RUNNING)

    def pause(self, domain_name: str) -> None:
        self._set_power(domain_name, states.PAUSED_POWER)

    def unpause(self, domain_name: str) -> None:
        self._set_power(domain_name, states.RUNNING)

    def suspend(self, domain_name: str) -> None:
        self._set_power(domain_name, states.SHUTDOWN)

    def resume(self, domain_name: str) -> None:
        self._set_power(domain_name, states.RUNNING)

    # --- volumes --------------------------------------------------------------------------
    def define_volume_secret(self, secret_uuid: str, usage: str, description: str,
                             password: str, kind: str = "iscsi") -> None:
        self.secrets[secret_uuid] = usage

    def delete_volume_secret(self, secret_uuid: str) -> None:
        self.secrets.pop(secret_uuid, None)

    def list_volume_secrets(self, usage_prefix: str) -> dict[str, str]:
        return {u: usage for u, usage in self.secrets.items() if usage.startswith(usage_prefix)}

    def attach_volume(self, domain_name: str, volume: VolumeSpec, live: bool) -> None:
        self._find(domain_name)
        self.volumes.setdefault(domain_name, []).append(volume.device)

    def has_volume(self, domain_name: str, device: str) -> bool:
        return device in self.volumes.get(domain_name, [])

    def detach_volume(self, domain_name: str, device: str, live: bool,
                      timeout: float) -> None:
        devices = self.volumes.get(domain_name, [])
        if device in devices and live and device in self.kept_volumes:
            raise HypervisorError(f"the guest did not release {device} within {timeout:.0f} s")
        if device in devices:
            devices.remove(device)

    def extend_volume(self, domain_name: str, device: str, new_size_bytes: int) -> None:
        self._find(domain_name)
        if device not in self.volumes.get(domain_name, []):
            raise HypervisorError(f"no disk {device} in {domain_name}")
        self.extended.append((domain_name, device, new_size_bytes))

    # --- network interfaces --------------------------------------------------------------
    def attach_interface(self, domain_name: str, nic: Nic, live: bool) -> None:
        self._find(domain_name)
        self.nics.setdefault(domain_name, []).append(nic.mac_address)

    def detach_interface(self, domain_name: str, mac_address: str, live: bool,
                         timeout: float) -> None:
        macs = self.nics.get(domain_name, [])
        if mac_address in macs:
            macs.remove(mac_address)

    # --- the serial console ---------------------------------------------------------------
    def serial_console_socket(self, domain_name: str) -> Path:
        """Where a test's own listener stands in for QEMU's (console_sockets)."""
        self._find(domain_name)
        if domain_name not in self.console_sockets:
            raise ConsoleUnavailable(f"{domain_name} has no serial port on a unix socket")
        return self.console_sockets[domain_name]

    # --- snapshots ------------------------------------------------------------------------
    def snapshot_root_disk(self, domain_name: str, disk: LocalDisk, target: Path) -> None:
        self._find(domain_name)
        assert isinstance(disk, FileDisk), "the fake copies files only"
        target.write_bytes(disk.path.read_bytes())


class FakeImages:
    """imaged's download, from bytes held here; `records` are images without
    data (a snapshot's, queued), which find, show and delete see too."""

    def __init__(self, data: dict[str, bytes] | None = None):
        self.data = dict(data or {})
        self.records: dict[str, dict] = {}

    def show(self, caller, image_id: str) -> dict | None:
        if image_id in self.records:
            return dict(self.records[image_id])
        blob = self.data.get(image_id)
        return None if blob is None else image_record(image_id, blob)

    def find(self, caller, **filters: str) -> list[dict]:
        return [dict(record) for record in self.records.values()
                if all(record.get(key) == value for key, value in filters.items())]

    def delete(self, caller, image_id: str, missing_ok: bool = True) -> None:
        self.records.pop(image_id, None)
        self.data.pop(image_id, None)

    def download(self, caller, image_id: str, write, algorithms=("md5",)) -> dict:
        blob = self.data[image_id]
        write(blob)
        return {name: hashlib.new(name, blob).hexdigest() for name in algorithms if name}


def image_record(image_id: str, data: bytes, disk_format: str = "raw", **properties) -> dict:
    """imaged's record of an active image holding `data`."""
    return {"id": image_id, "status": "active", "disk_format": disk_format,
            "container_format": "bare", "size": len(data), "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(),
            "checksum": hashlib.md5(data).hexdigest(), **properties}


class FakeVolumes:
    """volumed's attachments API, recording what was asked of it."""

    def __init__(self):
        self.deleted: list[str] = []
        self.completed: list[str] = []
        self.reserved: list[tuple[str, str | None]] = []  # (volume, server)

    def reserve(self, caller, volume_id: str, instance_uuid: str | None = None) -> str:
        self.reserved.append((volume_id, instance_uuid))
        return f"att-new-{len(self.reserved)}"

    def delete_attachment(self, caller, attachment_id: str) -> None:
        self.deleted.append(attachment_id)

    def complete(self, caller, attachment_id: str) -> None:
        self.completed.append(attachment_id)

    def delete_volume(self, caller, volume_id: str) -> None:
        raise AssertionError("no volume is deleted here")


class FakeNetwork:
    """networkd's networks, ports, security groups and floating IPs, kept in
    dicts. A port becomes ACTIVE once bound to a host if `plugs` (what
    networkd's agent does once it finds the tap). Binding fields need the
    service's own caller (token None), as networkd's policy wants."""

    def __init__(self, plugs: bool = True):
        self.plugs = plugs
        self.networks: dict[str, dict] = {}
        self.subnets: dict[str, dict] = {}
        self.ports: dict[str, dict] = {}
        self.groups: list[dict] = []
        self.floating_ips: list[dict] = []
        self.deleted: list[str] = []
        self._macs = itertools.count(1)

    def add_network(self, name: str, project_id: str = "p", subnets: bool = True,
                    **fields) -> dict:
        network = {"id": str(uuidlib.uuid4()), "name": name, "project_id": project_id,
                   "tenant_id": project_id, "shared": False, "router:external": False,
                   "mtu": 1500, "subnets": [f"subnet-{name}"] if subnets else [], **fields}
        self.networks[network["id"]] = network
        for subnet_id in network["subnets"]:
            self.subnets[subnet_id] = {
                "id": subnet_id, "network_id": network["id"], "ip_version": 4,
                "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "enable_dhcp": True,
                "dns_nameservers": [], "host_routes": [], "project_id": project_id}
        return network

    def add_port(self, network: dict, project_id: str = "p", **fields) -> dict:
        return self.create_port(Caller("t", project_id), {"network_id": network["id"],
                                                          **fields})

    @staticmethod
    def _matches(item: dict, filters: dict) -> bool:
        for key, wanted in filters.items():
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            actual = item.get(key)
            if isinstance(actual, bool):
                actual = str(actual)
            if key == "fixed_ips":
                addresses = {f"ip_address={ip['ip_address']}" for ip in item["fixed_ips"]}
                if not addresses & set(values):
                    return False
            elif str(actual) not in values:
                return False
        return True

    def show_network(self, caller, network_id: str) -> dict | None:
        return self.networks.get(network_id)

    def list_networks(self, caller, **filters) -> list[dict]:
        return [n for n in self.networks.values() if self._matches(n, filters)]

    def show_port(self, caller, port_id: str) -> dict | None:
        port = self.ports.get(port_id)
        return dict(port) if port else None

    def list_ports(self, caller, **filters) -> list[dict]:
        return [dict(p) for p in self.ports.values() if self._matches(p, filters)]

    def create_port(self, caller, fields: dict) -> dict:
        network = self.networks.get(fields["network_id"])
        if network is None:
            raise RemoteError("networkd", 404, "Network not found")
        number = next(self._macs)
        address = (fields.get("fixed_ips") or [{}])[0].get("ip_address") or f"10.0.0.{number}"
        if any(ip["ip_address"] == address for p in self.ports.values()
               for ip in p["fixed_ips"]):
            raise RemoteError("networkd", 409, f"IP address {address} already allocated")
        project = caller.project_id or "p"
        port = {"id": str(uuidlib.uuid4()), "network_id": network["id"],
                "mac_address": f"fa:16:3e:00:00:{number:02x}", "status": "DOWN",
                "project_id": project, "tenant_id": project,
                "device_id": fields.get("device_id", ""),
                "device_owner": fields.get("device_owner", ""), "binding:host_id": None,
                "fixed_ips": [{"subnet_id": network["subnets"][0], "ip_address": address}],
                "security_groups": fields.get("security_groups", ["sg-default"])}
        self.ports[port["id"]] = port
        return dict(port)

    def update_port(self, caller, port_id: str, fields: dict) -> dict:
        if port_id not in self.ports:
            raise RemoteError("networkd", 404, f"Port {port_id} could not be found.")
        if "binding:host_id" in fields and caller.token is not None:
            raise RemoteError("networkd", 403, "binding:host_id is for admins")
        port = self.ports[port_id]
        port.update(fields)
        port["status"] = "ACTIVE" if self.plugs and port["binding:host_id"] else "DOWN"
        return dict(port)

    def delete_port(self, caller, port_id: str) -> None:
        if self.ports.pop(port_id, None) is not None:
            self.deleted.append(port_id)

    def list_subnets(self, caller, **filters) -> list[dict]:
        return [s for s in self.subnets.values() if self._matches(s, filters)]

    def list_security_groups(self, caller, **filters) -> list[dict]:
        return [g for g in self.groups if self._matches(g, filters)]

    def list_floating_ips(self, caller, **filters) -> list[dict]:
        return [f for f in self.floating_ips if self._matches(f, filters)]


def make_deps(tmp_path: Path, driver: ComputeDriver, images: FakeImages | None = None,
              volumes: FakeVolumes | None = None, network: FakeNetwork | None = None,
              **settings) -> Deps:
    """A flow's dependencies over a fresh SQLite database in tmp_path, with
    the given fakes for the hypervisor and the other services."""
    engine = make_engine(f"sqlite:///{tmp_path / 'computed.sqlite'}")
    Base.metadata.create_all(engine)
    create_tables(engine)
    sessions = session_factory(engine)
    values = dict(host="h1", host_ip="192.0.2.7", node_uuid=NODE,
                  instances_path=tmp_path / "instances",
                  initiator_iqn="iqn.x", force_config_drive=True, ephemeral_format="ext4",
                  shutdown_timeout=1, detach_timeout=1, machine_type="pc",
                  image_public_url="http://i", quota=QuotaLimits(), max_metadata_items=128,
                  max_key_pairs=100)
    values.update(settings)
    cache = ImageCache(tmp_path / "instances", True)
    cache.prepare()
    return Deps(sessions=sessions, notifier=Notifier("computed", sessions), driver=driver,
                cache=cache, disks=FileDisks(tmp_path / "instances"),
                images=images, volumes=volumes,  # type: ignore[arg-type]
                network=network or FakeNetwork(),  # type: ignore[arg-type]
                settings=Settings(**values), inventory=lambda: HostInventory(2, 4096, 100),
                service_caller=lambda: Caller(None, "service"),
                builds=ThreadPoolExecutor(1), actions=ThreadPoolExecutor(1))
