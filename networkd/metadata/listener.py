"""The metadata proxy's HTTP server, listening inside the stack's namespace.

networkd's worker runs in the machine's namespace; guests reach
169.254.169.254:80 only inside the stack's. A socket belongs to the
namespace it was made in, so the listening socket is made there
(shared.netns.socket_in), bound and put to listen, and a threaded HTTP
server (the standard library's, one thread per connection) serves it from
here: no thread ever switches namespace.

The namespace may be made anew under the same name while networkd runs
(`pocketstack down` then `up`, or a reboot): the old socket then listens in
a namespace nobody reaches. `follow()`, called at every agent pass (after
the data plane put the metadata address on the new namespace's `lo`),
compares the namespace's inode with the one it listens in, and listens
again in the new one. The comparison cannot be fooled by a reused inode
number: the old namespace lives on as long as the proxy's socket is in it,
so the new one always gets another number.
"""
from __future__ import annotations

import http
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from networkd.metadata.proxy import Answer, MetadataProxy
from shared.metadata_proxy import METADATA_ADDRESS, METADATA_PORT
from shared.netns import NamespaceMissing, namespace_inode, socket_in

LOG = logging.getLogger(__name__)
BACKLOG = 64


class ProxyRequestHandler(BaseHTTPRequestHandler):
    """Every method goes to MetadataProxy.answer (which refuses all but GET
    and HEAD); the request's headers are read by http.server and given to
    nobody."""
    server: ProxyHTTPServer
    server_version = "networkd-metadata-proxy"

    def _answer(self) -> None:
        answer: Answer = self.server.proxy.answer(self.command, self.path,
                                                  self.client_address[0])
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(answer.content_length))
        if answer.allow:
            self.send_header("Allow", answer.allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args) -> None:
        LOG.info("%s %s", self.client_address[0], format % args)


for _method in http.HTTPMethod:
    setattr(ProxyRequestHandler, f"do_{_method.value}", ProxyRequestHandler._answer)


class ProxyHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server on a socket that is already listening (made
    in another namespace)."""
    daemon_threads = True

    def __init__(self, listening: socket.socket, proxy: MetadataProxy):
        super().__init__(listening.getsockname(), ProxyRequestHandler,
                         bind_and_activate=False)
        self.socket.close()        # the one socketserver made, in this namespace
        self.socket = listening
        self.proxy = proxy


class MetadataListener:
    """Serves `proxy` on address:port inside network namespace `namespace`."""

    def __init__(self, namespace: str, proxy: MetadataProxy, address: str = METADATA_ADDRESS,
                 port: int = METADATA_PORT):
        self.namespace = namespace
        self.address = address
        self.port = port
        self._proxy = proxy
        self._server: ProxyHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._inode: int | None = None        # the namespace the server listens in
        self._said: str | None = None         # the last problem logged
        self._lock = threading.Lock()

    @property
    def listening_in(self) -> int | None:
        """The inode of the namespace the server listens in (None: it does not)."""
        return self._inode if self._server is not None else None

    def follow(self) -> None:
        """Listen in the namespace as it is now: start when not listening,
        listen again when it was made anew, stop when it is gone. A failure
        (the address not there yet) is logged once and tried again at the
        next call."""
        with self._lock:
            inode = namespace_inode(self.namespace)
            if inode is not None and inode == self.listening_in:
                return
            if self._server is not None:
                LOG.info("metadata proxy: namespace %s %s", self.namespace,
                         "is gone" if inode is None else "was made anew: listening again")
                self._close()
            if inode is None:
                self._problem(f"namespace {self.namespace} does not exist")
                return
            try:
                self._listen(inode)
            except (OSError, NamespaceMissing) as error:
                self._problem(f"cannot listen on {self.address}:{self.port} in "
                              f"{self.namespace}: {error}")

    def stop(self) -> None:
        with self._lock:
            self._close()

    def _listen(self, inode: int) -> None:
        listening = socket_in(self.namespace)
        try:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind((self.address, self.port))
            listening.listen(BACKLOG)
            server = ProxyHTTPServer(listening, self._proxy)
        except BaseException:
            listening.close()
            raise
        self._server, self._inode, self._said = server, inode, None
        self._thread = threading.Thread(target=server.serve_forever, args=(0.2,),
                                        daemon=True, name="networkd-metadata-proxy")
        self._thread.start()
        LOG.info("metadata proxy listening on %s:%s in namespace %s", self.address, self.port,
                 self.namespace)

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()          # serve_forever returns
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server.server_close()      # the listening socket goes
        self._server, self._thread, self._inode = None, None, None

    def _problem(self, message: str) -> None:
        """Log a problem once (the agent calls follow() twice a second)."""
        if message != self._said:
            LOG.warning("metadata proxy: %s", message)
            self._said = message
