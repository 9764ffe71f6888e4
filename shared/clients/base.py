"""What every client of a PocketStack service shares: who a call is for
(Caller), the one exception a refused or failed call raises (RemoteError),
and the call itself (status check, the error message out of the callee's
error body, timeouts).

A client never decides what a refusal means to its caller's own users:
volumed answers 404 for an image imaged does not know, computed answers 400
for the same image in a server's imageRef. Those mappings live in the
calling service, which reads RemoteError.status and .message.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import requests

from shared.clients.session import ServiceSession

API_TIMEOUT = 60.0  # a call without image or volume data


@dataclass(frozen=True)
class Caller:
    """Who a call is for: a user's token and project, or (token None) the
    service itself, in its own project. The project is needed only by the
    APIs whose URLs name it (Cinder's /v3/{project_id})."""
    token: str | None
    project_id: str | None = None


class RemoteError(Exception):
    """Another service said no, or could not be reached.

    status   the HTTP status it answered; 503 when it could not be reached
             (then `reached` is False: nothing is known of its state)
    message  the message of its error body (or the reason the call failed)
    """

    def __init__(self, service: str, status: int, message: str, reached: bool = True):
        self.service, self.status, self.message, self.reached = \
            service, status, message, reached
        super().__init__(f"{service} answered {status}: {message}" if reached
                         else message)


def error_message(response: requests.Response) -> str:
    """The message of an OpenStack error body, whichever service's format
    ({"message": ...}, {"badRequest": {"message": ...}}, Glance's
    {"error": {"message": ...}}), else the text of the body on one line
    (without the status line that starts a plain-text error of webob's, as
    Glance and imaged write it: "413 Request Entity Too Large", a blank line,
    the message), since it ends up in one log line or one fault."""
    try:
        body = response.json()
    except ValueError:
        lines = [line.strip() for line in response.text.splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].startswith(f"{response.status_code} "):
            lines = lines[1:]
        return " ".join(lines)[:500] or response.reason
    if isinstance(body, dict):
        if "message" in body:
            return str(body["message"])
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
    return str(body)[:500]


class ServiceClient:
    """One remote service reached at `url` through a ServiceSession;
    `timeout` bounds the calls that move data (API_TIMEOUT the others)."""
    service = "service"

    def __init__(self, session: ServiceSession, url: str, timeout: float):
        self.session, self.url, self.timeout = session, url.rstrip("/"), timeout

    def call(self, method: str, path: str, caller: Caller,
             expected: Collection[int] = (200,), **kwargs) -> requests.Response:
        """The response, if its status is one of `expected`; else RemoteError."""
        kwargs.setdefault("timeout", API_TIMEOUT)
        try:
            response = self.session.request(method, f"{self.url}{path}", caller.token,
                                            **kwargs)
        except Exception as exc:  # refused, timed out, or the service user's login failed
            raise RemoteError(self.service, 503, f"{self.service} could not be reached: "
                              f"{exc}", reached=False) from None
        if response.status_code not in expected:
            message = error_message(response)
            response.close()
            raise RemoteError(self.service, response.status_code, message)
        return response
