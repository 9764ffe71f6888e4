"""The SSH connection: paramiko with a reject policy, keyed by the host keys
the guest printed on its console.

Every way it can fail becomes an SshError whose message says what happened
and what to try, because the person reading it is often learning: a
refused connection, a silent port (security groups), a key the guest does
not accept, or a host key that is not the one the console showed.
"""
from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import paramiko

from pocketstack.ssh.hostkeys import fingerprint, known_hosts
from pocketstack.ssh.target import Address
from shared.netns import NamespaceMissing, socket_in

CONNECT_TIMEOUT = 10.0
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")


class SshError(RuntimeError):
    """The connection failed; the message says why and what to try."""


class KeyRefused(SshError):
    """The server answered but refused every key: with --wait, the guest may
    simply not have installed the key pair yet (it comes from the metadata
    service after the SSH server starts, as with cloud-init)."""


def open_socket(address: Address, port: int, namespace: str,
                timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """A TCP connection to the address: from inside the stack's namespace
    for a fixed IP, from the machine for a floating one. Raises OSError."""
    if address.inside_namespace:
        try:
            sock = socket_in(namespace)
        except NamespaceMissing as error:
            raise SshError(f"{error}; the fixed IP {address.ip} is only reachable "
                           "from inside it") from None
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address.ip, port))
    except BaseException:
        sock.close()
        raise
    return sock


def load_key(path: Path) -> paramiko.PKey:
    """A private key file (the one `openstack keypair create` printed)."""
    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError:
        raise SshError(f"no key file {path}") from None
    except paramiko.PasswordRequiredException:
        raise SshError(f"the key {path} is protected by a passphrase; "
                       "load it into ssh-agent or give an unprotected copy") from None
    except (paramiko.SSHException, ValueError, OSError) as error:
        raise SshError(f"{path} is not a private key paramiko can read: {error}") from None


def default_keys() -> list[Path]:
    """~/.ssh/id_ed25519, id_ecdsa, id_rsa: the ones ssh tries."""
    home = Path(os.path.expanduser("~")) / ".ssh"
    return [home / name for name in DEFAULT_KEYS if (home / name).exists()]


def connect(address: Address, port: int, namespace: str, user: str,
            host_keys: list[tuple[str, str]], key_files: list[Path],
            timeout: float = CONNECT_TIMEOUT) -> paramiko.SSHClient:
    """An authenticated SSH client, or SshError. The only host keys it
    accepts are `host_keys` (RejectPolicy: an unknown key is refused)."""
    if not host_keys:
        raise SshError("the server has not printed its SSH host keys on its console "
                       "yet, so its identity cannot be checked (openstack console log "
                       "show; or wait: pocketstack ssh --wait)")
    keys = [load_key(path) for path in key_files]
    if not keys:
        raise SshError("no private key: give one with -i (the file `openstack keypair "
                       "create` printed)")
    refused: list[str] = []
    for key in keys:        # one connection per key, as ssh tries identities in turn
        client = _client(address, port, host_keys)
        try:
            sock = open_socket(address, port, namespace, timeout)
        except OSError as error:
            client.close()
            raise SshError(_network_error(address, port, error)) from None
        try:
            client.connect(address.ip, port=port, username=user, pkey=key, sock=sock,
                           look_for_keys=False, allow_agent=False, timeout=timeout,
                           banner_timeout=timeout, auth_timeout=timeout)
            return client
        except paramiko.AuthenticationException as error:
            refused.append(f"{key.get_name()} {fingerprint(key)}: {error}")
        except paramiko.BadHostKeyException as error:
            raise SshError(
                f"host key mismatch for {address.ip}: the server offered "
                f"{error.key.get_name()} {fingerprint(error.key)}, which is not among the "
                "keys it printed on its console. Refusing to connect: someone may be "
                "answering in its place, or the guest's keys changed since it "
                "booted.") from None
        except paramiko.SSHException as error:
            raise SshError(_protocol_error(address, port, error)) from None
        except OSError as error:
            raise SshError(_network_error(address, port, error)) from None
        finally:
            if client.get_transport() is None or not client.get_transport().is_active():
                client.close()
                sock.close()
    raise KeyRefused(f"{address.ip} refused the key for user {user!r} "
                   f"({'; '.join(refused)}): is it the private half of the server's key "
                   "pair (openstack server show: key_name)? Is the user right (-l)?")


def _client(address: Address, port: int, host_keys: list[tuple[str, str]]
            ) -> paramiko.SSHClient:
    """A client that knows only the console's host keys and rejects others."""
    client = paramiko.SSHClient()
    known = known_hosts(address.ip, port, host_keys)
    for name in known:
        for key_type in known[name]:
            client.get_host_keys().add(name, key_type, known[name][key_type])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def _protocol_error(address: Address, port: int, error: paramiko.SSHException) -> str:
    if "not found in known_hosts" in str(error):
        return (f"the host key offered by {address.ip} is of a type its console does "
                f"not list; refusing to connect ({error})")
    return f"SSH with {address.ip}:{port} failed: {error}"


def _network_error(address: Address, port: int, error: OSError) -> str:
    where = "from the stack's network namespace" if address.inside_namespace else \
        "from this machine"
    if isinstance(error, ConnectionRefusedError):
        return (f"connection refused by {address.ip}:{port} ({address.kind} IP): the "
                "guest runs no SSH server (yet), or it is still booting (try --wait)")
    if isinstance(error, socket.timeout) or error.errno == errno.ETIMEDOUT:
        return (f"no answer from {address.ip}:{port} ({address.kind} IP, {where}): is "
                f"tcp port {port} open in the server's security groups? (openstack "
                "security group rule create --protocol tcp --dst-port 22 default)")
    if error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return (f"{address.ip} is unreachable {where}: the guest does not hold its "
                "address (no DHCP lease yet?), or its network has no route here (a "
                "floating IP needs a router with an external gateway)")
    return f"cannot connect to {address.ip}:{port}: {error}"
