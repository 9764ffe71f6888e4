"""Sockets that live in a network namespace other than the process's own.

A socket belongs to the namespace it was created in, whatever thread or
namespace later uses it. So a process in the machine's namespace can listen
on an address inside the stack's namespace (networkd's metadata proxy on
169.254.169.254:80) or connect to a guest's fixed IP, which only the stack's
namespace can reach (`pocketstack ssh`), without any thread switching
namespace. pyroute2 makes the socket in a short-lived child that enters the
namespace and hands the descriptor back. Needs CAP_SYS_ADMIN (root).
pyroute2 takes most of a second to import: it is imported on the first
socket, not by every command that can make one.
"""
from __future__ import annotations

import os
import socket

NETNS_DIR = "/run/netns"


class NamespaceMissing(RuntimeError):
    """The named network namespace does not exist."""


def namespace_exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def namespace_inode(name: str) -> int | None:
    """The namespace's identity: a namespace deleted and made again under
    the same name has a new inode (None: no such namespace)."""
    try:
        return os.stat(os.path.join(NETNS_DIR, name)).st_ino
    except FileNotFoundError:
        return None


def socket_in(name: str, family: int = socket.AF_INET,
              kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A new, unconnected socket in namespace `name` (never creating it)."""
    if not namespace_exists(name):
        raise NamespaceMissing(f"network namespace {name} does not exist "
                               "(`pocketstack up` makes it)")
    from pyroute2 import netns as pyroute2_netns
    return pyroute2_netns.create_socket(name, family, kind, flags=0)
