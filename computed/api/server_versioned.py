"""The fields microversions 2.3 to 2.26 add to a server's detailed view, in
the order of Nova's views/servers.py show():

    2.3   admins: OS-EXT-SRV-ATTR:hostname, kernel_id, launch_index,
          ramdisk_id, reservation_id, root_device_name, user_data
    2.9   locked        (true while a lock is held)
    2.16  host_status   (admins: UP while the server has a host, "" when none)
    2.19  description
    2.26  tags

render.server_detail adds them after the 2.1 fields; the request's version
is read here, so its callers do not pass it. Also what these versions change
in the requests of servers.py: the description in create, update and
rebuild (2.19), the tag filters of a listing (2.26), a block device's tag
(2.32 only) and 2.38's strict ?status=."""
from __future__ import annotations

from sqlalchemy.orm import object_session

from computed.api import microversion as mv
from computed.api.common import runtime
from computed.db import server_extras
from computed.db.models import Instance
from computed.domain.server_fields import InvalidField, check_description
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest

# What PUT /servers/{id} and rebuild show of them (no host_status, no 2.3 fields).
UPDATE_FIELDS = ("locked", "description", "tags")


def rebuild_fields() -> set[str]:
    """What a rebuild body may hold beyond 2.1's fields."""
    return {"description"} if mv.at_least(mv.DESCRIPTION) else set()


def update_fields() -> set[str]:
    """What PUT /servers/{id} may change."""
    return {"name", "description"} if mv.at_least(mv.DESCRIPTION) else {"name"}


def versioned_fields(instance: Instance, ctx: RequestContext) -> dict:
    if mv.current() < mv.EXTENDED_ATTRIBUTES:
        return {}
    session = object_session(instance)
    if session is None:
        with transaction(runtime().deps.sessions, write=False) as fresh:
            return _fields(fresh, instance, ctx)
    return _fields(session, instance, ctx)


def _fields(session, instance: Instance, ctx: RequestContext) -> dict:
    fields: dict = {}
    if ctx.is_admin:
        fields.update({
            "OS-EXT-SRV-ATTR:hostname": instance.hostname,
            "OS-EXT-SRV-ATTR:kernel_id": "",
            "OS-EXT-SRV-ATTR:launch_index": instance.launch_index,
            "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:reservation_id": instance.reservation_id,
            "OS-EXT-SRV-ATTR:root_device_name": server_extras.root_device_name(
                session, instance.uuid),
            "OS-EXT-SRV-ATTR:user_data": instance.user_data,
        })
    if mv.at_least(mv.LOCKED):
        fields["locked"] = server_extras.locked(session, instance.uuid)
    if mv.at_least(mv.HOST_STATUS) and ctx.is_admin:
        fields["host_status"] = "UP" if instance.host else ""
    if mv.at_least(mv.DESCRIPTION):
        fields["description"] = server_extras.description(session, instance.uuid)
    if mv.at_least(mv.TAGS):
        fields["tags"] = server_extras.tags(session, instance.uuid)
    return fields


def volume_attached(bdm) -> dict:
    """An os-extended-volumes:volumes_attached entry (2.3 adds
    delete_on_termination)."""
    entry: dict = {"id": bdm.volume_id}
    if mv.at_least(mv.EXTENDED_ATTRIBUTES):
        entry["delete_on_termination"] = bool(bdm.delete_on_termination)
    return entry


# --- listing --------------------------------------------------------------------------------
# Nova's statuses (common._STATE_MAP's): from 2.38 ?status= must be one of them.
KNOWN_STATUSES = ("ACTIVE", "BUILD", "DELETED", "ERROR", "HARD_REBOOT", "MIGRATING",
                  "PASSWORD", "PAUSED", "REBOOT", "REBUILD", "RESCUE", "RESIZE",
                  "REVERT_RESIZE", "SHELVED", "SHELVED_OFFLOADED", "SHUTOFF",
                  "SOFT_DELETED", "SUSPENDED", "UNKNOWN", "VERIFY_RESIZE")
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def check_listing(args) -> None:
    """2.38: an unknown ?status= is 400 (before it matched nothing)."""
    status = args.get("status")
    if mv.at_least(mv.STRICT_STATUS) and status and status.upper() not in KNOWN_STATUSES:
        raise BadRequest("Invalid status value")


def filter_listing(session, instances: list[Instance], args) -> list[Instance]:
    """2.26's tag filters, comma-separated tags each, combined with AND:
    tags (has all), tags-any (has one), not-tags (lacks one), not-tags-any
    (has none). Ignored below 2.26, as Nova's schema lets them through."""
    if not mv.at_least(mv.TAGS):
        return instances
    wanted = {name: {tag for tag in args[name].split(",") if tag}
              for name in TAG_FILTERS if args.get(name)}
    if not wanted:
        return instances
    tagged = server_extras.tagged(session)

    def keep(instance: Instance) -> bool:
        has = tagged.get(instance.uuid, set())
        return ((not wanted.get("tags") or wanted["tags"] <= has)
                and (not wanted.get("tags-any") or bool(wanted["tags-any"] & has))
                and (not wanted.get("not-tags") or not wanted["not-tags"] <= has)
                and (not wanted.get("not-tags-any") or not wanted["not-tags-any"] & has))
    return [instance for instance in instances if keep(instance)]


def created_description(body: dict) -> str | None:
    """The description POST /servers records: the name below 2.19 (as Nova
    does, though it shows it only from 2.19), what was asked (or null) from
    2.19 on. 400 for a malformed one, before anything is made."""
    server = body.get("server")
    if not isinstance(server, dict):
        return None  # create_servers says what is wrong with the body
    if not mv.at_least(mv.DESCRIPTION):
        if "description" in server:
            raise BadRequest(f"Invalid input for field/attribute server. Value: {server}. "
                             f"Additional properties are not allowed ('description' was "
                             f"unexpected)")
        name = server.get("name")
        return name if isinstance(name, str) else None
    try:
        return check_description(server.get("description"))
    except InvalidField as exc:
        raise BadRequest(str(exc)) from None


def check_create(body: dict) -> None:
    """What POST /servers' schema allows per version beyond 2.1 that the
    2.1 parser lets through: a block device's "tag" only at 2.32 (Nova's
    2.33 dropped it by mistake; 2.42 brought it back)."""
    server = body.get("server")
    if not isinstance(server, dict):
        return
    devices = server.get("block_device_mapping_v2")
    if mv.current() == mv.DEVICE_TAGS or not isinstance(devices, list):
        return
    for device in devices:
        if isinstance(device, dict) and "tag" in device:
            raise BadRequest(f"Invalid input for field/attribute block_device_mapping_v2. "
                             f"Value: {devices}. Additional properties are not allowed "
                             f"('tag' was unexpected)")
