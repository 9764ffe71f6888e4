"""What the stack is made of, in start order: data, read by `up`, `down` and
`status` alike.

Each service is a Python module run as its own background process with its
own config file and port. A daemon without a port (imaged-scrubber) has
default_port None: it is "up" while its process is alive. What a service
needs around it is said here too, as values: the settings a second stack on
shifted ports needs, what to prepare before it starts (identity's passwords), the
host daemons it needs (tgtd, libvirtd) and what to do once it has stopped.
A new service is one more entry."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from computed import host as computed_host
from computed.config import offset_settings as computed_offset_settings
from computed.config import schema as computed_schema
from computed.config import stack_settings as computed_stack_settings
from dashboard.config import schema as dashboard_schema
from identity.config import offset_settings as identity_offset_settings
from identity.config import schema as identity_schema
from imaged.config import api_offset_settings as imaged_offset_settings
from imaged.config import api_schema as imaged_schema
from imaged.config import scrubber_schema as imaged_scrubber_schema
from imaged.registry.config import schema as imaged_registry_schema
from networkd.config import offset_settings as networkd_offset_settings
from networkd.config import schema as networkd_schema
from pocketstack.hostdaemons import (
    ComputedLibvirt,
    HostDaemons,
    NetworkdNamespace,
    StackCeph,
    StackSwift,
    VolumedTgtd,
)
from shared.config import Schema
from shared.paths import StateLayout
from volumed.config import offset_settings as volumed_offset_settings
from volumed.config import schema as volumed_schema
from volumed.config import stack_settings as volumed_stack_settings


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    schema: Callable[[], Schema]
    default_port: int | None           # None: a background daemon without a port
    catalog_option: str | None = None  # [catalog] option of identity.conf naming its URL
    # For an optional service: does it run, given every service's config?
    wanted: Callable[[dict], bool] | None = None
    # The settings of its own a stack on shifted ports needs, beyond
    # [api] bind_port and [auth] identity_url (which every service gets).
    offset_settings: Callable[[int], dict[str, dict]] | None = None
    # The settings of its own that follow pocketstack.conf (the loaded
    # config) when its file is written at the first start.
    stack_settings: Callable[[Any], dict[str, dict]] | None = None
    # Run at every `up` once the config files exist, before anything starts.
    prepare: Callable[[StateLayout, Any], object] | None = None
    host_daemons: HostDaemons | None = None
    # Run by `down` once the service stopped; returns the lines to print.
    after_stop: Callable[[StateLayout], list[str]] | None = None
    # Does it serve an OpenStack API that takes X-Auth-Token? The dashboard
    # does not: people log in to it in a browser and it keeps a session.
    takes_tokens: bool = True

    def is_wanted(self, configs: dict) -> bool:
        return self.wanted is None or self.wanted(configs)


def identity_client_files(state: StateLayout, conf) -> object:
    """The passwords, the credentials file and clouds.yaml, before identity
    starts (it seeds its users from them as it starts: identity/bootstrap.py)."""
    from identity.credentials import write_client_files
    return write_client_files(state, conf)


def registry_wanted(configs: dict) -> bool:
    """imaged-registry runs only when imaged-api is set to use it."""
    return configs["imaged"].data.data_api == "registry"


def power_off_guests(state: StateLayout) -> list[str]:
    return [f"{domain:<16} powered off (a server of this stack)"
            for domain in computed_host.power_off_guests(state)]


SERVICES: list[Service] = [
    Service("identity", "identity.app", identity_schema, 5000, "identity_url",
            offset_settings=identity_offset_settings, prepare=identity_client_files),
    Service("imaged-registry", "imaged.registry.server", imaged_registry_schema, 9191,
            wanted=registry_wanted),
    Service("imaged", "imaged.app", imaged_schema, 9292, "image_url",
            offset_settings=imaged_offset_settings),
    Service("imaged-scrubber", "imaged.scrubber", imaged_scrubber_schema, None),
    Service("volumed", "volumed.app", volumed_schema, 8776, "block_storage_url",
            offset_settings=volumed_offset_settings, stack_settings=volumed_stack_settings,
            host_daemons=VolumedTgtd()),
    Service("networkd", "networkd.app", networkd_schema, 9696, "network_url",
            offset_settings=networkd_offset_settings, host_daemons=NetworkdNamespace()),
    Service("computed", "computed.app", computed_schema, 8774, "compute_url",
            offset_settings=computed_offset_settings, stack_settings=computed_stack_settings,
            host_daemons=ComputedLibvirt(),
            after_stop=power_off_guests),
    # Last: it only calls the others' APIs, as a user's browser would.
    Service("dashboard", "dashboard.app", dashboard_schema, 8000, "dashboard_url",
            takes_tokens=False),
]


def token_api_services() -> list[Service]:
    """The services of every stack that serve an API behind tokens (not the
    optional registry, not the daemons without a port, not the dashboard)."""
    return [service for service in SERVICES
            if service.default_port is not None and service.wanted is None
            and service.takes_tokens]


#: Host daemons of the stack as a whole, which several services use and
#: pocketstack.conf turns on: started before the first service, stopped
#: after the last one.
STACK_DAEMONS: list[HostDaemons] = [StackCeph(), StackSwift()]


def initial_settings(service: Service, port_offset: int,
                     passwords: dict[str, str], stack_conf=None) -> dict[str, dict]:
    """Values written uncommented into a service's config file at first start:
    its service user's password, what follows pocketstack.conf (`stack_conf`,
    loaded: e.g. volumed's backups in Swift when the stack runs Swift) and,
    with a port offset (a second stack beside the first), the shifted ports
    and URLs."""
    settings: dict[str, dict] = {}
    if stack_conf is not None and service.stack_settings:
        settings.update(service.stack_settings(stack_conf))
    schema = service.schema()
    if "service_auth" in schema.sections:
        username = schema.option("service_auth", "username")
        assert username is not None, "common_sections always has [service_auth] username"
        settings["service_auth"] = {"password": passwords[username.default]}
    if port_offset and service.default_port is not None:
        settings["api"] = {"bind_port": service.default_port + port_offset}
        if "auth" in schema.sections:
            settings["auth"] = {"identity_url": f"http://127.0.0.1:{5000 + port_offset}"}
        if service.offset_settings:
            settings.update(service.offset_settings(port_offset))
    return settings
