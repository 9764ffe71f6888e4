"""The hypervisor seam: every operation computed asks of a hypervisor.

As nova/virt/driver.py, one abstract base class documents each operation
and a driver implements all of them (libvirt_driver.py is the only real one
here; the unit tests' fakes implement the same class, so they cannot drift
from it). The flows call the hypervisor only through this class and never
import a driver: what they need to know of it (the mode of an instance
directory, the virtualisation type) is an operation here too, so a second
driver would be one new file.

Each docstring says the parameters, the result, what the operation raises
and what it must leave behind when it fails. Guests are addressed by their
domain name. A driver knows nothing of the database: the flows decide, the
driver does.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

from computed.virt.guest import FileDisk, GuestSpec, LocalDisk, Nic, VolumeSpec


class HypervisorError(Exception):
    """The hypervisor refused or failed; the message says what it said."""


class GuestNotFound(HypervisorError):
    """The named guest does not exist on this host."""


class ConsoleUnavailable(HypervisorError):
    """The guest has no serial port a client can connect to."""


@dataclass(frozen=True)
class HostInfo:
    vcpus: int
    memory_mb: int
    hypervisor_type: str      # "QEMU"
    hypervisor_version: int   # as Nova reports it: 7002022 for 7.2.22
    virt_type: str            # kvm or qemu (TCG)
    cpu_model: str
    hostname: str
    arch: str                 # the host's architecture: x86_64, aarch64 ...
    cpu: dict                 # Nova's cpu_info: arch, model, vendor, topology, features


@dataclass(frozen=True)
class GuestState:
    domain_name: str
    uuid: str
    power_state: int          # computed.domain.states power states
    labels: dict


class ComputeDriver(abc.ABC):
    """What computed needs of a hypervisor. Unless a docstring says
    otherwise, an operation raises HypervisorError when the hypervisor
    refuses or fails, and GuestNotFound when the named guest does not exist."""

    # --- the host -----------------------------------------------------------------------
    @abc.abstractmethod
    def init_host(self) -> None:
        """Connect to the hypervisor and check that it is usable (called once
        at start, before anything else). Raises HypervisorError if it is
        not; nothing to clean up."""

    @abc.abstractmethod
    def host_info(self) -> HostInfo:
        """The host's CPUs, RAM, architecture and hypervisor, for the claims
        and os-hypervisors. Raises HypervisorError if the hypervisor cannot
        be asked."""

    @property
    @abc.abstractmethod
    def virt_type(self) -> str:
        """The domain type the guests get: kvm, or qemu (TCG emulation). Known
        without asking the hypervisor (the flows record it in events)."""

    @abc.abstractmethod
    def instance_dir_mode(self) -> int:
        """The permission bits of an instance directory (disks, console log,
        config drive): only the user the guests' QEMU runs as may get
        through. The launch flow creates the directory with this mode."""

    # --- a guest's life -----------------------------------------------------------------
    @abc.abstractmethod
    def guest_xml(self, guest: GuestSpec) -> str:
        """The definition `spawn(guest)` would give the hypervisor (written to
        libvirt.xml in the instance directory, for students to read). Pure:
        it changes nothing and raises nothing of the hypervisor's."""

    @abc.abstractmethod
    def spawn(self, guest: GuestSpec, paused: bool = False) -> None:
        """Define the guest persistently and start it. Returns once it runs
        (not once it has booted); with `paused`, its vCPUs stay stopped until
        `unpause` (its NICs exist: they can be plugged before the guest
        sends its first packet, Nova's wait for network-vif-plugged). On
        failure it raises HypervisorError and leaves nothing defined (the
        caller's undo is `destroy`, which must find nothing to do)."""

    @abc.abstractmethod
    def insert_medium(self, domain_name: str, drive: FileDisk) -> None:
        """Put `drive`'s file into the guest's removable drive `drive.device`
        (a cdrom started empty: FileDisk.without_medium), in the running
        guest and in its definition, so that every later start has it too.
        A launch starts the guest paused with its config drive empty and
        builds the ISO meanwhile: the guest finds the medium in place when
        it runs. Raises HypervisorError; the guest is then as it was."""

    @abc.abstractmethod
    def define(self, guest: GuestSpec) -> None:
        """Define the guest persistently without starting it (a stopped
        server rebuilt, resized or reverted stays stopped; `power_on` starts
        it later). A guest of that name already defined is replaced. On
        failure it raises HypervisorError and the definition is unchanged."""

    @abc.abstractmethod
    def destroy(self, domain_name: str) -> None:
        """Power the guest off hard and undefine it (with any saved memory
        image). A guest that does not exist is not an error. Raises
        HypervisorError if the guest stays; the disks are the caller's."""

    @abc.abstractmethod
    def power_state(self, domain_name: str) -> int:
        """The guest's power state (computed.domain.states); NOSTATE if it
        does not exist (never GuestNotFound)."""

    @abc.abstractmethod
    def list_guests(self) -> list[GuestState]:
        """The guests this node made (marked with its node id) and only
        those: another node's or anyone else's domains are never listed."""

    @abc.abstractmethod
    def power_off(self, domain_name: str, timeout: float) -> None:
        """Press the ACPI power button and wait up to `timeout` seconds for
        the guest to power itself off; then power it off hard. Returns with
        the guest off; GuestNotFound if it does not exist."""

    @abc.abstractmethod
    def power_on(self, domain_name: str) -> None:
        """Start a stopped guest (restoring its memory if it was suspended);
        a running guest is left as it is."""

    @abc.abstractmethod
    def reboot(self, domain_name: str, hard: bool, timeout: float) -> None:
        """Soft: ACPI shutdown, wait up to `timeout` seconds, start again
        (powering off hard if it does not stop in time). Hard: power off at
        once, forget any saved memory, start again. Returns with the guest
        running."""

    @abc.abstractmethod
    def pause(self, domain_name: str) -> None:
        """Stop the vCPUs; memory stays in the QEMU process."""

    @abc.abstractmethod
    def unpause(self, domain_name: str) -> None:
        """Let a paused guest's vCPUs run again."""

    @abc.abstractmethod
    def suspend(self, domain_name: str) -> None:
        """Save the guest's memory to disk and stop its QEMU process. On
        failure the guest runs on as before."""

    @abc.abstractmethod
    def resume(self, domain_name: str) -> None:
        """Start a suspended guest from its saved memory."""

    # --- volumes ------------------------------------------------------------------------
    @abc.abstractmethod
    def define_volume_secret(self, secret_uuid: str, usage: str, description: str,
                             password: str, kind: str = "iscsi") -> None:
        """Keep a CHAP password (kind iscsi) or a cephx key (kind ceph, its
        base64 text) where only the hypervisor reads it, under
        `secret_uuid`, its usage id `usage` (how list_volume_secrets finds it
        again). On failure nothing of the secret is left."""

    @abc.abstractmethod
    def delete_volume_secret(self, secret_uuid: str) -> None:
        """Forget a CHAP password; a secret that does not exist is not an
        error."""

    @abc.abstractmethod
    def list_volume_secrets(self, usage_prefix: str) -> dict[str, str]:
        """{secret uuid: usage} of the secrets whose usage starts with
        `usage_prefix` (this node's: the caller gives its prefix)."""

    @abc.abstractmethod
    def attach_volume(self, domain_name: str, volume: VolumeSpec, live: bool) -> None:
        """Add the volume to the guest's definition, and to the running guest
        when `live` (hot-plug). On failure the definition is unchanged."""

    @abc.abstractmethod
    def has_volume(self, domain_name: str, device: str) -> bool:
        """Is a disk at `device` (its target, e.g. vdc) in the guest: the
        running guest's, else its definition's? False if the guest does not
        exist. What a restart asks to tell a hot-plug that happened from
        one that did not."""

    @abc.abstractmethod
    def detach_volume(self, domain_name: str, device: str, live: bool,
                      timeout: float) -> None:
        """Remove the volume at `device` from the definition; when `live`,
        first from the running guest, waiting up to `timeout` seconds for the
        guest to let it go (HypervisorError if it does not: the volume stays
        attached). A device that is not there is not an error."""

    @abc.abstractmethod
    def extend_volume(self, domain_name: str, device: str, new_size_bytes: int) -> None:
        """Tell the running guest that the volume at `device` (its target,
        e.g. vdc) is now `new_size_bytes` long, once the storage has grown
        (Nova's volume-extended event; libvirt's blockResize). A guest that
        is not running learns the size when it starts: nothing to do.
        HypervisorError if the guest or the device is not there or QEMU
        refuses."""

    # --- network interfaces --------------------------------------------------------------
    @abc.abstractmethod
    def attach_interface(self, domain_name: str, nic: Nic, live: bool) -> None:
        """Add the NIC to the guest's definition, and to the running guest
        when `live` (hot-plug: its tap appears), of the model the guest's
        other NICs have (the image's hw_vif_model), else `nic.model`. On
        failure the definition is unchanged."""

    @abc.abstractmethod
    def detach_interface(self, domain_name: str, mac_address: str, live: bool,
                         timeout: float) -> None:
        """Remove the NIC with this MAC from the definition; when `live`,
        first from the running guest, waiting up to `timeout` seconds for
        the guest to let it go (HypervisorError if it does not: the NIC
        stays). A NIC that is not there is not an error."""

    # --- the serial console -------------------------------------------------------------
    @abc.abstractmethod
    def serial_console_socket(self, domain_name: str) -> Path:
        """The unix socket the guest's first serial port listens on (one
        client at a time: what it sends the guest reads on ttyS0, what the
        guest writes comes back, and is logged to console.log as well).
        ConsoleUnavailable if the guest's serial port is no socket (a guest
        defined before, or an instance path too long for a socket);
        GuestNotFound if the guest does not exist. Changes nothing."""

    # --- snapshots ----------------------------------------------------------------------
    @abc.abstractmethod
    def snapshot_root_disk(self, domain_name: str, disk: LocalDisk, target: Path) -> None:
        """Write a standalone qcow2 copy of the root disk `disk` (a file or
        an RBD image) to `target`, the guest staying as it was (a running
        guest keeps running). On failure `target` may be half written: the
        caller removes it."""
