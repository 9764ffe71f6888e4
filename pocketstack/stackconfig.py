"""pocketstack.conf: the settings of the stack itself, not of one service.

The services each read their own file (imaged-api.conf, volumed.conf...).
What belongs to no single service lives here: how the services are run
([services]: in one process by default) and the optional host services
several services use, such as a single-node Ceph ([ceph]) or Swift
([swift]), off by default, so `make run` keeps its embedded defaults. The
file is written at first start, every option commented out, like the others.
"""
from __future__ import annotations

from shared.config import Opt, Schema
from shared.units import GiB

STACK_CONF = "pocketstack.conf"

CEPH_MON_PORT = 3300          # the monitor, msgr2 protocol
CEPH_MON_V1_PORT = 6789       # the monitor, the older protocol (QEMU, libvirt)
CEPH_BIND_PORT_MIN = 6800     # OSD and manager pick their ports in this range
CEPH_BIND_PORT_MAX = 6899
#: The stack's Swift ([swift]): its servers' default ports, as a Swift
#: all-in-one has them.
SWIFT_PORTS = {"proxy_port": 8080, "object_port": 6200, "container_port": 6201,
               "account_port": 6202, "memcached_port": 11211}


def schema() -> Schema:
    return Schema(STACK_CONF).add("services", [
        Opt("one_process", True, "Run the API services and the scrubber in one process "
            "(pocketstack/together.py): each keeps its port, config, database and log "
            "file, and the libraries are in memory once. false: a process per service, "
            "as OpenStack runs them (one can then be stopped alone). A service with "
            "[api] workers above 1 always runs in processes of its own.", kind="bool"),
    ]).add("ceph", [
        Opt("enabled", False, "Run a single-node Ceph with the stack (one monitor, one "
            "manager, one OSD on a sparse file in lib/ceph, cephx, 127.0.0.1 only), with "
            "the pools images, volumes and vms and the clients client.glance and "
            "client.cinder (keyrings in etc/ceph). Needs the Ceph packages "
            "(labs/host/install-packages.sh --ceph).", kind="bool"),
        Opt("mon_port", CEPH_MON_PORT, "The monitor's port (msgr2).", kind="int",
            minimum=1, maximum=65535),
        Opt("mon_v1_port", CEPH_MON_V1_PORT, "The monitor's port for the older protocol "
            "(msgr1).", kind="int", minimum=1, maximum=65535),
        Opt("bind_port_min", CEPH_BIND_PORT_MIN, "The first port the OSD and the manager "
            "may bind (Ceph's ms_bind_port_min).", kind="int", minimum=1, maximum=65535),
        Opt("bind_port_max", CEPH_BIND_PORT_MAX, "The last port they may bind "
            "(ms_bind_port_max; the range needs about 10 ports).", kind="int", minimum=1,
            maximum=65535),
        Opt("instance_disks", False, "Keep servers' own disks in Ceph too: computed.conf "
            "is written with [libvirt] images_type = rbd at the first start (vda a clone of "
            "the image when imaged keeps it in Ceph).", kind="bool"),
        Opt("osd_size", 10 * GiB, "Bytes of the OSD's block file (sparse: only what is "
            "written takes space). Read at the first start only.", kind="int",
            minimum=GiB),
    ]).add("swift", [
        Opt("enabled", False, "Run a single-node Swift with the stack (proxy, account, "
            "container and object servers and a memcached, 127.0.0.1 only; rings in "
            "etc/swift, data in lib/swift), its proxy checking tokens with identity, and "
            "register it in the catalog as object-store. Needs the Swift packages "
            "(labs/host/install-packages.sh --swift).", kind="bool"),
        *(Opt(name, port, f"The {name.removesuffix('_port')} server's port."
              if name != "memcached_port" else "The port of the proxy's memcached.",
              kind="int", minimum=1, maximum=65535) for name, port in SWIFT_PORTS.items()),
    ])


def offset_settings(port_offset: int) -> dict[str, dict]:
    """For a second stack beside the first: Ceph's and Swift's ports shifted too."""
    if not port_offset:
        return {}
    return {"swift": {name: port + port_offset for name, port in SWIFT_PORTS.items()},
            "ceph": {"mon_port": CEPH_MON_PORT + port_offset,
                     "mon_v1_port": CEPH_MON_V1_PORT + port_offset,
                     "bind_port_min": CEPH_BIND_PORT_MIN + port_offset,
                     "bind_port_max": CEPH_BIND_PORT_MAX + port_offset}}
