"""identity.conf: the options of the identity service."""
from __future__ import annotations

import re

from shared.config import Opt, Schema
from shared.service import LOOPBACK, common_sections

DEFAULT_PORT = 5000


def schema() -> Schema:
    sections = common_sections(DEFAULT_PORT, username=None)
    del sections["auth"]  # identity checks tokens against its own database
    result = Schema("identity.conf", sections)
    result.add("token", [
        Opt("expiration", 3600, "Seconds a token stays valid after it is issued.",
            kind="int", minimum=1, maximum=7 * 24 * 3600),
    ])
    result.add("identity", [
        Opt("password_hash_rounds", 12, "bcrypt cost factor for stored passwords "
            "(each step doubles the work).", kind="int", minimum=4, maximum=31),
    ])
    result.add("catalog", [
        Opt("region", "RegionOne", "The one region of this cloud."),
        Opt("identity_url", f"http://{LOOPBACK}:{DEFAULT_PORT}", "Public URL of identity."),
        Opt("image_url", f"http://{LOOPBACK}:9292", "Public URL of imaged (image)."),
        Opt("compute_url", f"http://{LOOPBACK}:8774/v2.1", "Public URL of computed (compute)."),
        Opt("block_storage_url", f"http://{LOOPBACK}:8776/v3/%(project_id)s",
            "Public URL of volumed (block-storage); %(project_id)s is replaced."),
        Opt("network_url", f"http://{LOOPBACK}:9696", "Public URL of networkd (network); "
            "the clients append /v2.0 themselves."),
        Opt("dashboard_url", f"http://{LOOPBACK}:8000/", "Public URL of the web dashboard "
            "(type dashboard, as deployments register Horizon)."),
        Opt("object_store_url", "", "Public URL of Swift (object-store), "
            "%(project_id)s replaced; empty: no object-store in the catalog. `pocketstack "
            "up` sets it when pocketstack.conf [swift] enables the stack's Swift."),
    ])
    return result


def offset_settings(port_offset: int) -> dict[str, dict]:
    """For a second stack beside the first (`pocketstack up --port-offset N`):
    every URL of the catalog with its port moved by the offset."""
    catalog = {}
    for opt in schema().sections["catalog"]:
        if opt.name.endswith("_url") and opt.default:
            catalog[opt.name] = re.sub(r":(\d+)",
                                       lambda m: f":{int(m.group(1)) + port_offset}",
                                       opt.default, count=1)
    return {"catalog": catalog}
