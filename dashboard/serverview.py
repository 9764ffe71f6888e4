"""What the server pages draw, worked out from the API's answers: a
server's disks as the guest sees them, and the host's resources.

The disks follow what the compute service builds (and what the tiny image
prints on its console as POCKETSTACK-DISKS): vda the root disk, a
copy-on-write overlay of the image sized by the flavor; vdb the flavor's
ephemeral disk, when it has one; then each attached volume, at the device
the attachment names (vdc for the first).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Disk:
    device: str
    kind: str
    size: str
    detail: str


def disks(server: dict, flavor: dict | None, attachments: list[dict],
          volumes: list[dict]) -> list[Disk]:
    result = []
    image = server.get("image") or {}
    if image:
        root_gb = (flavor or {}).get("disk", "?")
        result.append(Disk("vda", "root disk", f"{root_gb} GB" if root_gb else "image size",
                           f"qcow2 overlay on image {image.get('id', '?')} (the image "
                           f"itself is never written)"))
    ephemeral = (flavor or {}).get("OS-FLV-EXT-DATA:ephemeral", 0)
    if ephemeral:
        result.append(Disk("vdb", "ephemeral disk", f"{ephemeral} GB",
                           "blank, made at launch, freed at terminate"))
    sizes = {volume["id"]: volume.get("size") for volume in volumes}
    for attachment in sorted(attachments, key=lambda a: a.get("device") or ""):
        device = (attachment.get("device") or "?").removeprefix("/dev/")
        size = sizes.get(attachment.get("volumeId"))
        result.append(Disk(device, "volume (iSCSI)", f"{size} GB" if size else "",
                           f"volume {attachment.get('volumeId')}: kept after terminate"))
    return result


@dataclass(frozen=True)
class Resource:
    name: str
    used: int
    total: int
    unit: str

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.total) if self.total else 0


def host_resources(hypervisors: list[dict]) -> list[Resource]:
    """vCPU, RAM and disk of every compute host together, used of total."""
    def total(key: str) -> int:
        return sum(int(h.get(key) or 0) for h in hypervisors)
    return [Resource("vCPU", total("vcpus_used"), total("vcpus"), ""),
            Resource("RAM", total("memory_mb_used"), total("memory_mb"), "MB"),
            Resource("disk", total("local_gb_used"), total("local_gb"), "GB")]


def resources_as_dict(resources: list[Resource]) -> dict:
    return {r.name: {"used": r.used, "total": r.total, "unit": r.unit} for r in resources}


def resources_from_dict(saved: dict) -> list[Resource]:
    return [Resource(name, v["used"], v["total"], v["unit"]) for name, v in saved.items()]
