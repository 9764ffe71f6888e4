"""A stand-in for computed's metadata service on 127.0.0.1, for the tests
of networkd's metadata proxy: it answers from a table and records every
request it gets (method, path with query string, headers), so a test sees
exactly what the proxy forwarded. The tests that claim the real service
use computed's."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOT_FOUND = (404, "text/plain", b"404 Not Found\n")


class RecordingMetadataService:
    """`answers`: path (without query string) -> (status, content type, body);
    any other path is 404. `requests`: what arrived, oldest first."""

    def __init__(self, answers: dict[str, tuple[int, str, bytes]] | None = None):
        self.answers = dict(answers or {})
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                service.requests.append({"method": self.command, "path": self.path,
                                         "headers": dict(self.headers.items())})
                status, kind, body = service.answers.get(self.path.split("?")[0], NOT_FOUND)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def headers(self, index: int = -1) -> dict[str, str]:
        """One request's headers, by lower-case name."""
        return {key.lower(): value for key, value in self.requests[index]["headers"].items()}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
