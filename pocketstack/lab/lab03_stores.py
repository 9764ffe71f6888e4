"""Lab 03: where images live (labs/03-stores.md).

What the steps leave behind: an image lab3-file, active, whose data is the
file of its id in the file store's directory, as many bytes as the image;
lab3-file made public by demo, which only the policy override of step 5
allowed; and that override removed again.
"""
from __future__ import annotations

from pathlib import Path

from imaged.config import api_schema
from pocketstack.lab import cleanup
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement
from shared.config import ConfigError, load_config

IMAGE = "lab3-file"
POLICY_FILE = "imaged-policy.yaml"
LAB_RULE = "publicize_image"


def file_store_dir(context: LabContext) -> Path:
    """imaged-api.conf's [store] filesystem_store_datadir, else lib/images."""
    try:
        conf = load_config(api_schema(), context.state.config_file("imaged-api.conf"))
    except ConfigError:
        return context.state.lib / "images"
    chosen = conf.store.filesystem_store_datadir
    return Path(chosen) if chosen else context.state.lib / "images"


def lab_image(context: LabContext) -> dict:
    found = context.user.get("image", "/v2/images", name=IMAGE).json()["images"]
    if not found:
        raise NotYet(f"no image {IMAGE}")
    return found[0]


def in_file_store(context: LabContext) -> None:
    image = lab_image(context)
    if image["status"] != "active":
        raise NotYet(f"{IMAGE} is {image['status']}")
    data = file_store_dir(context) / image["id"]
    if not data.is_file():
        raise NotYet(f"no file {data.name} in the file store ({data.parent})")
    if data.stat().st_size != image["size"]:
        raise NotYet(f"{data} has {data.stat().st_size} bytes, the image {image['size']}")


def made_public(context: LabContext) -> None:
    visibility = lab_image(context)["visibility"]
    if visibility != "public":
        raise NotYet(f"{IMAGE} is {visibility}")


def lab_rule_left(context: LabContext) -> Path | None:
    path = context.state.etc / POLICY_FILE
    return path if path.exists() and LAB_RULE in path.read_text() else None


def policy_removed(context: LabContext) -> None:
    if lab_rule_left(context):
        raise NotYet(f"{POLICY_FILE} still overrides {LAB_RULE}")


class Stores(Lab):
    number = 3
    title = "where images live"
    text = "03-stores.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"{IMAGE}'s data is its file in the file store", in_file_store,
                        f"step 2: openstack image create ... --file lab3.raw {IMAGE}"),
            Requirement(f"demo made {IMAGE} public (allowed by the policy override)",
                        made_public,
                        f"step 5: write {POLICY_FILE}, then "
                        f"openstack image set --public {IMAGE}"),
            Requirement(f"the override of {LAB_RULE} is removed", policy_removed,
                        f"step 5: rm $POCKETSTACK_STATE_DIR/etc/{POLICY_FILE}"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        undone = []
        path = lab_rule_left(context)
        if path:
            path.unlink()
            undone.append(f"policy file {POLICY_FILE}")
        return undone + cleanup.delete_images(context.admin, [IMAGE, "lab3-refused"])


LAB = Stores()
