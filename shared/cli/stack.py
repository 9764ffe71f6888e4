"""What the stack is made of, in start order.

Each API service is a Python module run as its own background process with
its own config file and port. A daemon without a port (imaged-scrubber) has
default_port None: it is "up" while its process is alive. Later services add
a line here."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

from computed.config import offset_settings as computed_offset_settings
from computed.config import schema as computed_schema
from shared.config import Schema
from imaged.config import api_schema as imaged_schema
from imaged.config import scrubber_schema as imaged_scrubber_schema
from imaged.registry.config import schema as imaged_registry_schema
from shared.identity.config import schema as identity_schema
from volumed.config import offset_settings as volumed_offset_settings
from volumed.config import schema as volumed_schema


@dataclass(frozen=True)
class ApiService:
    name: str
    module: str
    schema: Callable[[], Schema]
    default_port: int | None           # None: a background daemon without a port
    catalog_option: str | None = None  # [catalog] option of identity.conf naming its URL
    url_path: str = ""                 # added to the base URL in the catalog
    # For an optional service: does it run, given every service's config?
    wanted: Callable[[dict], bool] | None = None

    def command(self, state_dir: str) -> list[str]:
        return [sys.executable, "-m", self.module, "--state-dir", state_dir]

    @property
    def has_port(self) -> bool:
        return self.default_port is not None

    def is_wanted(self, configs: dict) -> bool:
        return self.wanted is None or self.wanted(configs)


def registry_wanted(configs: dict) -> bool:
    """imaged-registry runs only when imaged-api is set to use it."""
    return configs["imaged"].data.data_api == "registry"


SERVICES: list[ApiService] = [
    ApiService("identity", "shared.identity.app", identity_schema, 5000, "identity_url"),
    ApiService("imaged-registry", "imaged.registry.server", imaged_registry_schema, 9191,
               wanted=registry_wanted),
    ApiService("imaged", "imaged.app", imaged_schema, 9292, "image_url"),
    ApiService("imaged-scrubber", "imaged.scrubber", imaged_scrubber_schema, None),
    ApiService("volumed", "volumed.app", volumed_schema, 8776, "block_storage_url"),
    ApiService("computed", "computed.app", computed_schema, 8774, "compute_url"),
]


def initial_settings(service: ApiService, port_offset: int, passwords: dict[str, str],
                     services: list[ApiService]) -> dict[str, dict]:
    """Values written uncommented into a service's config file at first start:
    its service user's password and, with a port offset (a second stack
    beside the first), the shifted ports and URLs."""
    settings: dict[str, dict] = {}
    schema = service.schema()
    if "service_auth" in schema.sections:
        user = schema.option("service_auth", "username").default
        settings["service_auth"] = {"password": passwords[user]}
    if port_offset and service.has_port:
        settings["api"] = {"bind_port": service.default_port + port_offset}
        if "auth" in schema.sections:
            settings["auth"] = {"identity_url": f"http://127.0.0.1:{5000 + port_offset}"}
        if service.name == "identity":
            settings["catalog"] = shifted_catalog(schema, port_offset)
        if service.name == "imaged":
            settings["data"] = {"registry_url": f"http://127.0.0.1:{9191 + port_offset}"}
        if service.name == "volumed":
            settings.update(volumed_offset_settings(port_offset))
        if service.name == "computed":
            settings.update(computed_offset_settings(port_offset))
    return settings


def shifted_catalog(identity: Schema, port_offset: int) -> dict[str, str]:
    """The catalog URLs of identity.conf with every port moved by the offset."""
    import re
    shifted = {}
    for opt in identity.sections["catalog"]:
        if opt.name.endswith("_url"):
            shifted[opt.name] = re.sub(r":(\d+)", lambda m: f":{int(m.group(1)) + port_offset}",
                                       opt.default, count=1)
    return shifted
