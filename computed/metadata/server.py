"""The metadata service's listener: a thread in computed's worker process,
on [metadata] bind_host:bind_port (127.0.0.1:8775 by default).

Nova runs nova-api-metadata as a process of its own; here it shares the
worker with the compute API because both read the same database and the
same networkd client, and a thread per request is plenty for the guests of
one host. Only networkd's proxy has to reach it, so it listens on loopback.
"""
from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from computed.flows import Deps
from computed.metadata.app import create_metadata_app
from computed.metadata.source import MetadataSource
from shared.paths import StateLayout
from shared.secrets import shared_secret

LOG = logging.getLogger(__name__)


class MetadataListenError(Exception):
    """The port could not be listened on; the message says which option."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """The standard library's WSGI server, one thread per request."""
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    """The app logs each answer itself (with the guest and the server):
    the handler's own access line to stderr is not wanted."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the stdlib's name)
        LOG.debug("metadata server: " + format, *args)


def proxy_secret(conf, state: StateLayout) -> str:
    """[metadata] metadata_proxy_shared_secret, else the stack's generated one."""
    return conf.metadata.metadata_proxy_shared_secret or shared_secret(state.metadata_secret)


def start(conf, state: StateLayout, deps: Deps) -> WSGIServer | None:
    """Listen and serve in a daemon thread; None if [metadata] enabled is off."""
    if not conf.metadata.enabled:
        LOG.info("the metadata service is off ([metadata] enabled = false)")
        return None
    source = MetadataSource(deps, cache_seconds=conf.metadata.metadata_cache_expiration,
                            dhcp_domain=conf.metadata.dhcp_domain)
    app = create_metadata_app(source, proxy_secret(conf, state))
    host, port = conf.metadata.bind_host, conf.metadata.bind_port
    try:
        server = make_server(host, port, app, server_class=_ThreadingServer,
                             handler_class=_Handler)
    except OSError as exc:
        raise MetadataListenError(
            f"computed.conf: [metadata] bind_host/bind_port: cannot listen on "
            f"{host}:{port}: {exc.strerror or exc}") from exc
    threading.Thread(target=server.serve_forever, name="metadata-api", daemon=True).start()
    LOG.info("metadata service listening on http://%s:%s", host, port)
    return server
