"""The service catalog, from the [catalog] section of identity.conf.

The real clients find every service through the catalog in the token: the
service type (identity, image, compute, block-storage), the interface and the
URL in the one region. A service is "registered" by its URL being here; an
optional one (object-store) is left out while its URL is empty."""
from __future__ import annotations

SERVICES = [
    # (type, name, config option)
    ("identity", "keystone", "identity_url"),
    ("image", "imaged", "image_url"),
    ("compute", "computed", "compute_url"),
    ("block-storage", "volumed", "block_storage_url"),
    ("network", "networkd", "network_url"),
    ("dashboard", "dashboard", "dashboard_url"),
    # Only when the stack runs Swift (pocketstack.conf [swift]): empty otherwise.
    ("object-store", "swift", "object_store_url"),
]
INTERFACES = ("public", "internal", "admin")


def catalog_for(conf, project_id: str | None) -> list[dict]:
    region = conf.catalog.region
    entries = []
    for service_type, name, option in SERVICES:
        url = getattr(conf.catalog, option)
        if not url:
            continue
        if "%(project_id)s" in url:
            if not project_id:
                continue
            url = url.replace("%(project_id)s", project_id)
        endpoints = [{"id": f"{name}-{interface}", "interface": interface, "region": region,
                      "region_id": region, "url": url} for interface in INTERFACES]
        entries.append({"id": name, "type": service_type, "name": name,
                        "endpoints": endpoints})
    return entries


def services(conf) -> list[dict]:
    return [{"id": name, "type": service_type, "name": name, "enabled": True,
             "description": f"PocketStack {name}"} for service_type, name, option in SERVICES
            if getattr(conf.catalog, option)]


def endpoints(conf) -> list[dict]:
    result = []
    for _, name, option in SERVICES:
        if not getattr(conf.catalog, option):
            continue
        for interface in INTERFACES:
            result.append({"id": f"{name}-{interface}", "service_id": name,
                           "interface": interface, "region": conf.catalog.region,
                           "region_id": conf.catalog.region, "enabled": True,
                           "url": getattr(conf.catalog, option)})
    return result
