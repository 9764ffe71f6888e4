"""Lab 06: volumes (labs/06-volumes.md).

What the steps leave behind: a 1 GiB volume lab6-data, attached first to
lab6-vm1 and then to lab6-vm2 (volumed's volume.attach.end events name
each server), holding on its first bytes what lab6-vm1 wrote, and detached
again: available, without a target in tgtd.
"""
from __future__ import annotations

from pathlib import Path

from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement
from shared.config import ConfigError, load_config
from volumed.config import schema as volumed_schema

VOLUME = "lab6-data"
SERVERS = ("lab6-vm1", "lab6-vm2")
KEY = "lab6-key"
MARKER = b"lab6: written by lab6-vm1"


def the_volume(context: LabContext) -> dict:
    found = [v for v in context.user.get("block-storage", "/volumes/detail").json()["volumes"]
             if v["name"] == VOLUME]
    if not found:
        raise NotYet(f"no volume {VOLUME}")
    if len(found) > 1:
        raise NotYet(f"{len(found)} volumes named {VOLUME}: keep one "
                     f"(pocketstack lab reset 6 deletes them all)")
    return found[0]


def volume_made(context: LabContext) -> None:
    volume = the_volume(context)
    if volume["size"] != 1:
        raise NotYet(f"{VOLUME} is {volume['size']} GiB")


def servers_made(context: LabContext) -> None:
    for name in SERVERS:
        found = context.user.get("compute", "/servers/detail",
                                 name=f"^{name}$").json()["servers"]
        if not found:
            raise NotYet(f"no server {name}")
        if found[0]["status"] != "ACTIVE" or found[0]["key_name"] != KEY:
            raise NotYet(f"{name} is {found[0]['status']} with key pair {found[0]['key_name']}")


def attached_to_both(context: LabContext) -> None:
    volume = the_volume(context)
    attached = [event["payload"].get("instance_uuid") for event in reversed(
        host.events(context.user, "block-storage", type="volume.attach.end",
                    resource_id=volume["id"]))]
    names = [_server_name(context, server_id) for server_id in attached]
    if SERVERS[0] not in names:
        raise NotYet(f"{VOLUME} was never attached to {SERVERS[0]}")
    if SERVERS[1] not in names[names.index(SERVERS[0]):]:
        raise NotYet(f"{VOLUME} was attached to {', '.join(names)}, "
                     f"never to {SERVERS[1]} after {SERVERS[0]}")


def data_written(context: LabContext) -> None:
    volume = the_volume(context)
    path = volumes_dir(context) / f"volume-{volume['id']}"
    try:
        with path.open("rb") as data:
            start = data.read(len(MARKER))
    except OSError as error:
        raise NotYet(f"cannot read {path}: {error}") from None
    if start != MARKER:
        raise NotYet(f"{VOLUME} begins with {start!r}")


def detached(context: LabContext) -> None:
    volume = the_volume(context)
    if volume["status"] != "available" or volume["attachments"]:
        servers = ", ".join(_server_name(context, a["server_id"])
                            for a in volume["attachments"])
        raise NotYet(f"{VOLUME} is {volume['status']}" + (f", attached to {servers}"
                                                           if servers else ""))
    if volume["id"] in host.tgt_targets(context.state):
        raise NotYet(f"tgtd still has a target for {VOLUME}")


def volumes_dir(context: LabContext) -> Path:
    try:
        conf = load_config(volumed_schema(), context.state.config_file("volumed.conf"))
    except ConfigError:
        return context.state.lib / "volumes"
    return Path(conf.volume.volumes_dir) if conf.volume.volumes_dir \
        else context.state.lib / "volumes"


def _server_name(context: LabContext, server_id: str | None) -> str:
    answer = context.user.get("compute", f"/servers/{server_id}")
    return answer.json()["server"]["name"] if answer.status_code == 200 else str(server_id)


class Volumes(Lab):
    number = 6
    title = "volumes over iSCSI, moved between servers"
    text = "06-volumes.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"a 1 GiB volume {VOLUME}", volume_made,
                        f"step 1: openstack volume create --size 1 {VOLUME}"),
            Requirement(f"servers {' and '.join(SERVERS)}, ACTIVE, with key pair {KEY}",
                        servers_made, f"step 2: openstack keypair create {KEY}, then "
                        "server create ... --key-name for each"),
            Requirement(f"{VOLUME} attached to {SERVERS[0]}, then to {SERVERS[1]}",
                        attached_to_both, "steps 3 and 5: openstack server add volume"),
            Requirement(f"what {SERVERS[0]} wrote is on {VOLUME}", data_written,
                        "step 4: pocketstack ssh lab6-vm1 ... dd of=/dev/vdc"),
            Requirement(f"{VOLUME} detached again (available, no target in tgtd)", detached,
                        f"step 6: openstack server remove volume {SERVERS[1]} {VOLUME}"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        return (cleanup.delete_servers(context.admin, SERVERS)
                + cleanup.delete_volumes(context.admin, [VOLUME])
                + cleanup.delete_keypairs(context.user, [KEY]))


LAB = Volumes()
