"""Lab 02: images (labs/02-images.md).

What the steps leave behind: a raw and a qcow2 image, active; an image
without data (queued) and one killed by a bad upload; lab2-raw deactivated
and reactivated (its events), carrying the SHA-512 the learner computed,
shared with project lab2-other, which accepted it; lab2-doomed deleted, as
imaged-api.conf's delayed_delete says (gone, or pending_delete until the
scrubber comes).
"""
from __future__ import annotations

from imaged.config import api_schema
from pocketstack.cloud import Cloud
from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement
from shared.config import ConfigError, load_config

IMAGES = ("lab2-raw", "lab2-qcow2", "lab2-empty", "lab2-bad", "lab2-doomed")
OTHER_PROJECT = "lab2-other"
FRIEND = "lab2-friend"


def image_named(cloud: Cloud, name: str, **filters: str) -> dict:
    found = cloud.get("image", "/v2/images", name=name, **filters).json()["images"]
    if not found:
        raise NotYet(f"no image {name}")
    return found[0]


def has_status(cloud: Cloud, name: str, status: str) -> dict:
    image = image_named(cloud, name)
    if image["status"] != status:
        raise NotYet(f"{name} is {image['status']}")
    return image


def formats(context: LabContext) -> None:
    for name, disk_format in (("lab2-raw", "raw"), ("lab2-qcow2", "qcow2")):
        image = has_status(context.user, name, "active")
        if (image["disk_format"], image["container_format"]) != (disk_format, "bare"):
            raise NotYet(f"{name} is {image['disk_format']}/{image['container_format']}")


def queued(context: LabContext) -> None:
    has_status(context.user, "lab2-empty", "queued")


def killed(context: LabContext) -> None:
    """Lists leave killed images out unless asked for by status."""
    try:
        image_named(context.user, "lab2-bad", status="killed")
    except NotYet:
        has_status(context.user, "lab2-bad", "killed")


def deactivated_and_back(context: LabContext) -> None:
    image = has_status(context.user, "lab2-raw", "active")
    for action in ("deactivate", "reactivate"):
        if not [event for event in host.events(context.user, "image", type=f"image.{action}")
                if event["resource_id"] == image["id"]]:
            raise NotYet(f"no image.{action} event for lab2-raw")


def delayed_delete(context: LabContext) -> bool:
    try:
        conf = load_config(api_schema(), context.state.config_file("imaged-api.conf"))
    except ConfigError:
        return False
    return bool(conf.image.delayed_delete)


def doomed_deleted(context: LabContext) -> None:
    """Deleted in this run of the lab: after lab2-raw (step 1) was made."""
    started = image_named(context.user, "lab2-raw")["created_at"][:19]
    deletes = [event for event in host.events(context.user, "image", type="image.delete")
               if event["payload"].get("name") == "lab2-doomed"
               and event["timestamp"][:19] >= started]
    if not deletes:
        raise NotYet("no image.delete event for lab2-doomed since step 1")
    if context.user.get("image", "/v2/images", name="lab2-doomed").json()["images"]:
        raise NotYet("lab2-doomed is still listed")
    data = context.state.lib / "images" / deletes[0]["resource_id"]
    if not delayed_delete(context) and data.exists():
        raise NotYet(f"delayed_delete is off, yet {data.name} is still in lib/images")


def checksum_recorded(context: LabContext) -> None:
    image = image_named(context.user, "lab2-raw")
    recorded = image.get("lab2_sha512")
    if not recorded:
        raise NotYet("lab2-raw has no property lab2_sha512")
    if image["os_hash_algo"] != "sha512" or recorded != image["os_hash_value"]:
        raise NotYet(f"lab2_sha512 {recorded[:16]}... is not lab2-raw's os_hash_value "
                     f"{image['os_hash_value'][:16]}...")


def other_project(context: LabContext) -> dict:
    found = context.admin.get("identity", "/v3/projects", name=OTHER_PROJECT).json()["projects"]
    if not found:
        raise NotYet(f"no project {OTHER_PROJECT}")
    return found[0]


def friend_made(context: LabContext) -> None:
    project = other_project(context)
    users = context.admin.get("identity", "/v3/users", name=FRIEND).json()["users"]
    if not users:
        raise NotYet(f"no user {FRIEND}")
    assignments = context.admin.get("identity", "/v3/role_assignments",
                                    **{"user.id": users[0]["id"],
                                       "scope.project.id": project["id"],
                                       "effective": "1"}).json()["role_assignments"]
    if not assignments:
        raise NotYet(f"{FRIEND} has no role on {OTHER_PROJECT}")


def member(context: LabContext) -> dict:
    image = image_named(context.user, "lab2-raw")
    if image["visibility"] != "shared":
        raise NotYet(f"lab2-raw is {image['visibility']}")
    project = other_project(context)
    members = context.user.get("image", f"/v2/images/{image['id']}/members").json()["members"]
    for found in members:
        if found["member_id"] == project["id"]:
            return found
    raise NotYet(f"{OTHER_PROJECT} is not a member of lab2-raw")


def shared(context: LabContext) -> None:
    member(context)


def accepted(context: LabContext) -> None:
    status = member(context)["status"]
    if status != "accepted":
        raise NotYet(f"{OTHER_PROJECT}'s membership is {status}")


class Images(Lab):
    number = 2
    title = "images: formats, statuses, checksums"
    text = "02-images.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement("lab2-raw (raw) and lab2-qcow2 (qcow2), both bare, are active",
                        formats, "step 1: openstack image create --disk-format ... --file ..."),
            Requirement("lab2-empty is queued (a record without data)", queued,
                        "step 2: new_image lab2-empty (POST /v2/images, no data)"),
            Requirement("lab2-bad was killed by a bad upload", killed,
                        "step 2: upload lab2.qcow2 into lab2-bad (disk_format raw) with curl"),
            Requirement("lab2-raw was deactivated, then reactivated", deactivated_and_back,
                        "step 3: openstack image set --deactivate lab2-raw, then --activate"),
            Requirement("lab2-doomed was deleted", doomed_deleted,
                        "step 4: openstack image delete lab2-doomed"),
            Requirement("lab2-raw carries the SHA-512 you computed (lab2_sha512)",
                        checksum_recorded,
                        "step 5: openstack image set --property lab2_sha512=... lab2-raw"),
            Requirement(f"a project {OTHER_PROJECT} with a member {FRIEND}", friend_made,
                        f"step 6: project create {OTHER_PROJECT}, user create {FRIEND}, "
                        "role add ... member"),
            Requirement(f"lab2-raw is shared with {OTHER_PROJECT}", shared,
                        "step 6: openstack image set --shared lab2-raw; "
                        "openstack image add project lab2-raw $OTHER"),
            Requirement(f"{OTHER_PROJECT} accepted lab2-raw", accepted,
                        f"step 6: as {FRIEND}: openstack image set --accept $RAW"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        return (cleanup.delete_images(context.admin, IMAGES)
                + cleanup.delete_users(context.admin, [FRIEND])
                + cleanup.delete_projects(context.admin, [OTHER_PROJECT]))


LAB = Images()
