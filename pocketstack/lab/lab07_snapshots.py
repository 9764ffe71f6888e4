"""Lab 07: snapshots (labs/07-snapshots.md).

What the steps leave behind: a server lab7-vm with key pair lab7-key; an
image lab7-snap that is a snapshot of it (image_type, instance_uuid,
base_image_ref); a server lab7-from-snap booted from that image, whose vda
holds, at 900 MiB, the marker lab7-vm wrote before the snapshot (read on
the host with qemu-io, through the overlay and its base, read-only).
"""
from __future__ import annotations

import re

from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement

SOURCE, COPY, SNAPSHOT, KEY = "lab7-vm", "lab7-from-snap", "lab7-snap", "lab7-key"
BASE_IMAGE = "pocketstack-tiny"
MARKER = "lab7: written before the snapshot"
MARKER_AT = 900 * 1024 * 1024
DUMP_LINE = re.compile(r"^[0-9a-f]+:\s+((?:[0-9a-f]{2} )*[0-9a-f]{2})")


def server(context: LabContext, name: str) -> dict:
    found = context.user.get("compute", "/servers/detail", name=f"^{name}$").json()["servers"]
    if not found:
        raise NotYet(f"no server {name}")
    if found[0]["status"] != "ACTIVE":
        raise NotYet(f"{name} is {found[0]['status']}")
    return found[0]


def snapshot_image(context: LabContext) -> dict:
    found = context.user.get("image", "/v2/images", name=SNAPSHOT).json()["images"]
    if not found:
        raise NotYet(f"no image {SNAPSHOT}")
    return found[0]


def source_running(context: LabContext) -> None:
    if server(context, SOURCE)["key_name"] != KEY:
        raise NotYet(f"{SOURCE} has no key pair {KEY}")


def snapshot_made(context: LabContext) -> None:
    image, source = snapshot_image(context), server(context, SOURCE)
    base = context.user.get("image", "/v2/images", name=BASE_IMAGE).json()["images"]
    expected = {"status": "active", "image_type": "snapshot", "instance_uuid": source["id"],
                "base_image_ref": base[0]["id"] if base else "?"}
    wrong = {key: image.get(key) for key, value in expected.items() if image.get(key) != value}
    if wrong:
        raise NotYet(f"{SNAPSHOT} has {wrong}, a snapshot of {SOURCE} has {expected}")


def booted_from_snapshot(context: LabContext) -> None:
    copy, image = server(context, COPY), snapshot_image(context)
    if copy["image"] == "" or copy["image"]["id"] != image["id"]:
        raise NotYet(f"{COPY} was not booted from {SNAPSHOT}")


def marker_inherited(context: LabContext) -> None:
    copy = server(context, COPY)
    disk = host.instances_path(context.state) / copy["id"] / "disk"
    shown = host.run("qemu-io", "-r", "-U", "-c", f"read -v {MARKER_AT} {len(MARKER)}",
                     str(disk))
    # qemu-io's dump: "<offset>:  6c 61 62 ...  lab7..."; the hex is exact
    data = b"".join(bytes.fromhex(match.group(1))
                    for match in map(DUMP_LINE.match, shown.stdout.splitlines()) if match)
    if not data.startswith(MARKER.encode()):
        raise NotYet(f"{COPY}'s vda at 900 MiB holds {data[:40]!r} "
                     f"{shown.stderr.strip()[:80]}")


class Snapshots(Lab):
    number = 7
    title = "snapshots of a running server"
    text = "07-snapshots.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"a server {SOURCE}, ACTIVE, with key pair {KEY}", source_running,
                        "step 1: openstack keypair create, then server create --key-name"),
            Requirement(f"an image {SNAPSHOT}: a snapshot of {SOURCE}", snapshot_made,
                        f"step 3: openstack server image create --name {SNAPSHOT} "
                        f"--wait {SOURCE}"),
            Requirement(f"a server {COPY} booted from {SNAPSHOT}", booted_from_snapshot,
                        f"step 4: openstack server create --image {SNAPSHOT} ... {COPY}"),
            Requirement(f"{COPY}'s disk holds the marker {SOURCE} wrote before the snapshot",
                        marker_inherited, "step 2 (before step 3): pocketstack ssh "
                        f"{SOURCE} ... dd of=/dev/vda bs=1M seek=900"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        return (cleanup.delete_servers(context.admin, [COPY, SOURCE])
                + cleanup.delete_images(context.admin, [SNAPSHOT])
                + cleanup.delete_keypairs(context.user, [KEY]))


LAB = Snapshots()
