"""The computed process: `python -m computed.app --state-dir DIR`.

Nova v2.1-compatible compute service. gunicorn runs one worker process (see
[api] workers in computed.conf); the worker builds everything in make_app:
the database (with the default flavors), the libvirt connection, the
reconcile pass that makes the database and libvirt agree again after a
restart, the periodic tasks (power state sync, image cache manager: these
three once libvirtd answers, computed/hypervisor.py) and
the metadata service's thread ([metadata] bind_port, computed/metadata/) and
the serial console proxy's ([serial_console] serialproxy_port,
computed/serialproxy/).
"""
from __future__ import annotations

import logging

from flask import Flask, g, request

from computed import runtime
from computed.api import (
    actions,
    external_events,
    flavors,
    hypervisors,
    images,
    instance_actions,
    interfaces,
    keypairs,
    migrations,
    quotas,
    remote_consoles,
    server_tags,
    servers,
    usage,
    versions,
    volume_attachments,
)
from computed.api.common import RUNTIME_KEY, parse_microversion, set_version_headers
from computed.api.versions import PUBLIC_PATHS
from computed.config import schema
from computed.db import repository as repo
from computed.imagecache import template_names
from computed.metadata import server as metadata_server
from computed.policies import RULES
from computed.reconcile import Periodic, Reconciler
from computed.serialproxy import server as serialproxy_server
from shared.api import create_app
from shared.db import transaction
from shared.events_api import EVENT_RULES, EventSource, install_events
from shared.paths import StateLayout
from shared.service import ServiceDefinition, build_service, remote_validator

LOG = logging.getLogger(__name__)
NAME = "computed"


def image_cache_manager(computed: runtime.Computed):
    """The periodic pass over _base: what live servers use is kept (and
    touched); the rest goes after remove_unused_original_minimum_age_seconds."""
    deps, conf = computed.deps, computed.conf

    def run() -> dict:
        with transaction(deps.sessions, write=False) as session:
            live = repo.live_instances(session)
            images = {instance.image_ref for instance in live}
            templates = {name for instance in live for name in template_names(
                instance.ephemeral_gb, instance.swap, deps.settings.ephemeral_format)}
        return deps.cache.clean(images, templates, conf.compute.remove_unused_base_images,
                                conf.compute.remove_unused_original_minimum_age_seconds)
    return run


def acts_on_a_guest(path: str) -> bool:
    """A server's create, delete, actions, volume and interface changes and
    consoles: what computed cannot do before it is connected to libvirt.
    (A server's metadata and tags are only the database's.)"""
    parts = path.strip("/").split("/")
    return parts[:2] == ["v2.1", "servers"] and not (
        len(parts) > 3 and parts[3] in ("metadata", "tags"))


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service(NAME, conf, state, RULES + EVENT_RULES)
    computed = runtime.build(service)
    reconciler = Reconciler(computed.deps)
    periodic = Periodic([
        ("sync_power_states", conf.compute.sync_power_state_interval,
         reconciler.sync_power_states),
        ("image_cache_manager", conf.compute.image_cache_manager_interval,
         image_cache_manager(computed)),
    ], first=reconciler.after_startup)

    def on_libvirt() -> None:
        computed.deps.driver.init_host()
        reconciler.startup()
        periodic.start()
    # now if libvirtd answers, else in the background: the API serves meanwhile
    computed.deps.hypervisor.connect(on_libvirt)
    metadata_server.start(conf, state, computed.deps)
    serialproxy_server.start(conf, computed.deps)

    app = create_app(NAME, error_style="nova", validator=remote_validator(service),
                     is_public=lambda method, path: method == "GET" and path in PUBLIC_PATHS)

    @app.before_request
    def _microversion():
        if request.path.startswith("/v2.1/") and request.path not in PUBLIC_PATHS:
            g.compute_api_version = parse_microversion()

    @app.before_request
    def _hypervisor_needed():
        if request.method not in ("GET", "HEAD") and acts_on_a_guest(request.path):
            computed.deps.hypervisor.require()

    app.after_request(set_version_headers)
    for module in (versions, flavors, keypairs, servers, actions, volume_attachments,
                   interfaces, hypervisors, quotas, usage, instance_actions, images,
                   migrations, server_tags, remote_consoles, external_events):
        app.register_blueprint(module.bp)
    install_events(app, EventSource(service.sessions, service.policy))
    app.extensions[RUNTIME_KEY] = computed  # what computed.api.common.runtime() returns
    app.extensions["computed.image_cache_manager"] = image_cache_manager(computed)
    return app


SERVICE = ServiceDefinition(
    name=NAME,
    description="PocketStack computed (Nova v2.1 subset)",
    schema=schema,
    make_app=make_app,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)


if __name__ == "__main__":
    main()
