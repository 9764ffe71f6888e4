"""A stack with its own Ceph (pocketstack.conf [ceph] enabled), and what the
tests read from that Ceph with its own tools (`rbd`, `ceph` as client.admin):
the proof of what the services did, seen from outside them."""
from __future__ import annotations

import json
import subprocess

from tests.stack import DEFAULT_PORTS, Stack

#: Ports of the OSD and the manager: a narrow range (they need about ten), so
#: that the ranges of two Ceph stacks on shifted ports never overlap.
BIND_PORTS = 20


def stack_conf(stack: Stack, instance_disks: bool = False) -> str:
    """pocketstack.conf for `stack`: Ceph on, on its shifted ports; the
    servers' own disks in it too if `instance_disks`."""
    first = DEFAULT_PORTS["ceph-osd"] + stack.port_offset
    return (f"[ceph]\nenabled = true\nmon_port = {stack.port('ceph-mon')}\n"
            f"mon_v1_port = {stack.port('ceph-mon-v1')}\n"
            f"bind_port_min = {first}\nbind_port_max = {first + BIND_PORTS - 1}\n"
            f"instance_disks = {str(instance_disks).lower()}\n")


def rbd(stack: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The `rbd` command as client.admin of the stack's Ceph."""
    conf = stack.state_dir / "etc" / "ceph" / "ceph.conf"
    done = subprocess.run(["rbd", "--conf", str(conf), "--name", "client.admin", *args],
                          capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"rbd {' '.join(args)}: {done.stderr}"
    return done


def rbd_json(stack: Stack, *args: str):
    return json.loads(rbd(stack, *args, "--format", "json").stdout)


def rbd_images(stack: Stack, pool: str) -> list[str]:
    return rbd_json(stack, "ls", pool)


def cluster_fsid(stack: Stack) -> str:
    conf = (stack.state_dir / "etc" / "ceph" / "ceph.conf").read_text()
    return next(line.split("=", 1)[1].strip() for line in conf.splitlines()
                if line.startswith("fsid"))


def read_rbd(stack: Stack, pool: str, name: str, offset: int, length: int) -> bytes:
    """Bytes of an RBD image, read as client.admin with librbd."""
    import rados
    import rbd as librbd
    cluster = rados.Rados(conffile=str(stack.state_dir / "etc" / "ceph" / "ceph.conf"),
                          rados_id="admin")
    cluster.connect(timeout=30)
    try:
        with cluster.open_ioctx(pool) as ioctx, librbd.Image(ioctx, name, read_only=True) as image:
            return image.read(offset, length)
    finally:
        cluster.shutdown()
