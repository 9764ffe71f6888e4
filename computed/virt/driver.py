"""The hypervisor seam: every operation computed asks of a hypervisor.

As nova/virt/driver.py, one base class documents each operation and a
driver fills them in (libvirt_driver.py is the only one here). The flows
never call libvirt themselves, so a second driver would be one new file.

Guests are addressed by their domain name. A driver knows nothing of the
database: the flows decide, the driver does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from computed.virt.guest import GuestSpec, IscsiVolume


class HypervisorError(Exception):
    """The hypervisor refused or failed; the message says what it said."""


class GuestNotFound(HypervisorError):
    pass


@dataclass(frozen=True)
class HostInfo:
    vcpus: int
    memory_mb: int
    hypervisor_type: str      # "QEMU"
    hypervisor_version: int   # as Nova reports it: 7002022 for 7.2.22
    virt_type: str            # kvm or qemu (TCG)
    cpu_model: str
    hostname: str


@dataclass(frozen=True)
class GuestState:
    domain_name: str
    uuid: str
    power_state: int          # computed.domain.states power states
    labels: dict


class ComputeDriver:
    """Base class: each method says what it must do; drivers override all."""

    def init_host(self) -> None:
        """Connect to the hypervisor, check it is usable (called at start)."""
        raise NotImplementedError

    def host_info(self) -> HostInfo:
        """The host's CPUs, RAM and hypervisor, for claims and os-hypervisors."""
        raise NotImplementedError

    def guest_xml(self, guest: GuestSpec) -> str:
        """The definition `spawn` would give the hypervisor (written to
        libvirt.xml in the instance directory, for students to read)."""
        raise NotImplementedError

    def spawn(self, guest: GuestSpec) -> None:
        """Define the guest persistently and start it. Returns once it runs
        (not once it has booted). On failure nothing stays defined."""
        raise NotImplementedError

    def destroy(self, domain_name: str) -> None:
        """Power off hard and undefine (with any saved memory image). A guest
        that does not exist is not an error."""
        raise NotImplementedError

    def power_state(self, domain_name: str) -> int:
        """The guest's power state; NOSTATE if it does not exist."""
        raise NotImplementedError

    def list_guests(self) -> list[GuestState]:
        """The guests this node made (marked with its node id), and only those."""
        raise NotImplementedError

    def power_off(self, domain_name: str, timeout: float) -> None:
        """Press the ACPI power button and wait up to `timeout` seconds for
        the guest to power itself off; then power it off hard."""
        raise NotImplementedError

    def power_on(self, domain_name: str) -> None:
        """Start a stopped guest (restoring its memory if it was suspended)."""
        raise NotImplementedError

    def reboot(self, domain_name: str, hard: bool, timeout: float) -> None:
        """Soft: ACPI shutdown, wait, start again (hard if it does not stop in
        time). Hard: power off at once and start again."""
        raise NotImplementedError

    def pause(self, domain_name: str) -> None:
        """Stop the vCPUs; memory stays in the QEMU process."""
        raise NotImplementedError

    def unpause(self, domain_name: str) -> None:
        raise NotImplementedError

    def suspend(self, domain_name: str) -> None:
        """Save the guest's memory to disk and stop its QEMU process."""
        raise NotImplementedError

    def resume(self, domain_name: str) -> None:
        """Start a suspended guest from its saved memory."""
        raise NotImplementedError

    def define_volume_secret(self, secret_uuid: str, usage: str, description: str,
                             password: str) -> None:
        """Keep a CHAP password where only the hypervisor reads it."""
        raise NotImplementedError

    def delete_volume_secret(self, secret_uuid: str) -> None:
        """Forget a CHAP password (missing: not an error)."""
        raise NotImplementedError

    def list_volume_secrets(self, usage_prefix: str) -> dict[str, str]:
        """{secret uuid: usage} of the secrets whose usage starts with the prefix."""
        raise NotImplementedError

    def attach_volume(self, domain_name: str, volume: IscsiVolume, live: bool) -> None:
        """Add the volume to the guest's definition, and to the running guest
        when `live` (hot-plug)."""
        raise NotImplementedError

    def detach_volume(self, domain_name: str, device: str, live: bool,
                      timeout: float) -> None:
        """Remove a volume; when `live`, wait until the guest let it go."""
        raise NotImplementedError

    def snapshot_root_disk(self, domain_name: str, disk: Path, target: Path) -> None:
        """Write a standalone qcow2 copy of the root disk to `target`, the
        guest staying as it was (a running guest keeps running)."""
        raise NotImplementedError
