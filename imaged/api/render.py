"""Images and members as Glance v2 returns them (python-openstackclient and
python-glanceclient read these exact keys): extra properties at the top
level beside the core attributes, links as relative paths, whole-second
UTC times, locations and direct_url only when the operator turned them on."""
from __future__ import annotations

import datetime as dt
import operator

from imaged.domain import status as st
from imaged.domain.image import Image, Member
from shared.context import RequestContext

CORE = ("name", "disk_format", "container_format", "visibility", "size", "virtual_size",
        "status", "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden",
        "os_hash_algo", "os_hash_value")
_core_values = operator.attrgetter(*CORE)  # one call for all of them (a page renders many)


def iso(moment: dt.datetime | None) -> str | None:
    if not moment:
        return None
    if moment.tzinfo is None:  # what the database gives (isoformat is the cheaper call)
        return moment.isoformat(timespec="seconds") + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: Image, conf, context: RequestContext | None = None,
               properties: dict | None = None) -> dict:
    """`properties`: the extra properties to show, when not all of the
    image's (property protections hide some from some roles)."""
    view = dict(image.properties if properties is None else properties)
    view.update(zip(CORE, _core_values(image), strict=True))
    view["id"] = image.id
    view["created_at"] = iso(image.created_at)
    view["updated_at"] = iso(image.updated_at)
    view["tags"] = list(image.tags)
    view["self"] = f"/v2/images/{image.id}"
    view["file"] = f"/v2/images/{image.id}/file"
    view["schema"] = "/v2/schemas/image"
    # Only admins see where a deactivated image's data is (as in Glance).
    may_see_locations = image.status != st.DEACTIVATED or (context and context.is_admin)
    locations = image.locations if may_see_locations else []
    stores = stores_of(image)
    if stores:
        view["stores"] = ",".join(stores)
    image_conf = conf.image
    if image_conf.show_multiple_locations:
        view["locations"] = [{"url": loc.url, "metadata": dict(loc.metadata)}
                             for loc in locations]
    if image_conf.show_image_direct_url and locations:
        view["direct_url"] = locations[0].url
    return view


def stores_of(image: Image) -> list[str]:
    """Glance's multi-store `stores`: the ids of the stores that hold the
    image's data, read from its locations (so it can never disagree with them)."""
    ids: list[str] = []
    for location in image.locations:
        store_id = location.metadata.get("store")
        if store_id and store_id not in ids:
            ids.append(store_id)
    return ids


def member_view(member: Member) -> dict:
    return {"created_at": iso(member.created_at), "updated_at": iso(member.updated_at),
            "image_id": member.image_id, "member_id": member.member_id,
            "schema": "/v2/schemas/member", "status": member.status}


def no_content():
    """A 204 as Glance sends it for these calls: no body and no Content-Type
    (Flask would otherwise add text/html to an empty answer)."""
    from flask import Response
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
