"""What every page and action needs: the visitor's session, the cloud as
the logged-in user, the CSRF check, and the answer to a refusal.

`login_required` sends a visitor without a live session to the login page;
every POST is refused (403) unless it carries the session's CSRF token, in
the form field `csrf_token` or the header X-CSRF-Token (the upload's XHR).
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, g, redirect, request, url_for

from dashboard.cloud import Cloud, CloudError
from dashboard.sessions import COOKIE_NAME, Session, SessionStore

LOG = logging.getLogger(__name__)
STORE_KEY = "dashboard.sessions"
CONF_KEY = "dashboard.conf"


def store() -> SessionStore:
    return current_app.extensions[STORE_KEY]


def conf():
    return current_app.extensions[CONF_KEY]


def current_session() -> Session:
    """The visitor's session; an anonymous one is made (and its cookie set
    after the request) for a new visitor."""
    if "session" not in g:
        found = store().get(request.cookies.get(COOKIE_NAME))
        if found is None:
            found = store().anonymous()
            g.new_cookie = found.id
        g.session = found
    return g.session


def replace_session(session: Session) -> None:
    g.session, g.new_cookie = session, session.id


def cloud() -> Cloud:
    session = current_session()
    assert session.login is not None, "login_required runs first"
    return Cloud(session.login, conf().dashboard.api_timeout, g.get("request_id"))


def login_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        if current_session().login is None:
            return redirect(url_for("auth.login_form"))
        return view(*args, **kwargs)
    return wrapper


def check_csrf() -> None:
    if request.method != "POST":
        return
    offered = request.form.get("csrf_token") if request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data") else None
    offered = offered or request.headers.get("X-CSRF-Token")
    if not current_session().csrf_matches(offered):
        LOG.warning("POST %s refused: no valid CSRF token", request.path)
        abort(403, "This form is stale or did not come from the dashboard; reload the page.")


def refused(exc: CloudError, back: str) -> Any:
    """A service's refusal of an action: its message on the page we go back to."""
    current_session().say(f"Refused ({exc.status}): {exc.message}", "error")
    return redirect(back)


def or_404(fetch: Callable[[], Any]) -> Any:
    """The resource, or the dashboard's 404 page when the API does not show
    it to this user (absent, or another project's)."""
    try:
        return fetch()
    except CloudError as exc:
        if exc.status in (403, 404):
            abort(404)
        raise
