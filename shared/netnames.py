"""Names of the network devices and namespaces a stack creates.

Linux interface names are at most 15 characters and live in one namespace
per network namespace, so the names follow Neutron and Nova's conventions
cut to fit: "tap" + the first 11 characters of the port's id (Nova's
NIC_NAME_LEN of 14), "brq" + the first 11 of the network's id (Neutron's
linuxbridge agent). computed names the tap it asks libvirt for, networkd
finds it by the same name: this module is the only place both read it.

Network namespace names are machine-wide, so a stack's is derived from its
state directory: two stacks on one machine never share one.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

NIC_NAME_LEN = 14
TAP_PREFIX = "tap"
BRIDGE_PREFIX = "brq"


def tap_name(port_id: str) -> str:
    """The tap device of a port: 'tap' + port id, 14 characters in all."""
    return (TAP_PREFIX + port_id)[:NIC_NAME_LEN]


def bridge_name(network_id: str) -> str:
    """The Linux bridge of a network inside the stack's namespace."""
    return (BRIDGE_PREFIX + network_id)[:NIC_NAME_LEN]


def stack_tag(state_root: Path) -> str:
    """Eight hex digits naming one stack on this machine (from its state
    directory's real path)."""
    digest = hashlib.sha256(str(Path(state_root).resolve()).encode()).hexdigest()
    return digest[:8]


def stack_namespace(state_root: Path) -> str:
    """The network namespace holding all of a stack's guest networking."""
    return f"pocketstack-{stack_tag(state_root)}"


def external_veth_host_end(state_root: Path) -> str:
    """The host end of the veth pair joining the machine to the stack's
    external network (DevStack's br-ex): 'ps' + tag + 'ex', 12 characters."""
    return f"ps{stack_tag(state_root)}ex"


# The other end of that pair, inside the stack's namespace (names there are
# the stack's own, so it needs no tag).
EXTERNAL_VETH_NS_END = "ex-host"
