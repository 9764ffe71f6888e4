"""The dashboard process: `python -m dashboard.app --state-dir DIR`.

A Flask app of server-rendered pages (templates/), a little JavaScript for
the upload's progress and the live timeline (static/), nothing to build and
nothing fetched from elsewhere. It holds no credentials of its own: every
call to a service is made with the logged-in user's token (cloud.py).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from flask import Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from dashboard import actions, auth, pages, timeline
from dashboard.cloud import Cloud, CloudError, Login
from dashboard.config import schema
from dashboard.sessions import COOKIE_NAME, SessionStore
from dashboard.web import CONF_KEY, STORE_KEY, check_csrf, current_session, store
from shared.flaskapp import FlaskApp
from shared.paths import StateLayout
from shared.request_ids import new_request_id
from shared.service import ServiceDefinition

LOG = logging.getLogger(__name__)
NAME = "dashboard"
# What a browser may load and where a page may send things: this origin only.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
TIMELINE_LOOKBACK = dt.timedelta(minutes=10)


def revoker(conf) -> Callable[[Login], None]:
    def revoke(login: Login) -> None:
        """At logout or when a session times out: the token stops working."""
        try:
            Cloud(login, conf.dashboard.api_timeout).revoke_token()
        except CloudError as exc:
            LOG.warning("the token of user %s could not be revoked: %s",
                        login.user_name, exc.message)
    return revoke


def make_app(conf, state: StateLayout | None = None) -> Flask:
    """The app; `state` is unused: the dashboard keeps nothing on disk (its
    sessions, with the users' tokens, live in the worker's memory)."""
    app = FlaskApp(NAME)
    app.extensions[CONF_KEY] = conf
    app.extensions[STORE_KEY] = SessionStore(conf.dashboard.session_idle_timeout,
                                             revoker(conf))
    for module in (auth, pages, actions, timeline):
        app.register_blueprint(module.bp)

    @app.before_request
    def _start():
        g.started, g.request_id = time.monotonic(), new_request_id()
        check_csrf()

    @app.after_request
    def _finish(response):
        new_cookie = g.get("new_cookie")
        if new_cookie:
            response.set_cookie(COOKIE_NAME, new_cookie, httponly=True, samesite="Strict",
                                path="/")
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
        # The path only: a query string is the user's input, kept out of logs.
        LOG.info('"%s %s" status=%s time=%.1fms %s', request.method, request.path,
                 response.status_code, (time.monotonic() - g.started) * 1000, g.request_id)
        return response

    @app.context_processor
    def _page_values():
        session = current_session()
        since = dt.datetime.now(dt.UTC) - TIMELINE_LOOKBACK
        return {"login": session.login, "csrf_token": session.csrf_token,
                "messages": session.take_messages(),
                "timeline_since": since.strftime("%Y-%m-%dT%H:%M:%SZ")}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return render_template("error.html", status=exc.code, message=exc.description), \
            exc.code or 500

    @app.errorhandler(CloudError)
    def _cloud_error(exc: CloudError):
        if exc.status == 401:  # the token was revoked or expired: log in again
            store().end(current_session())
            return redirect(url_for("auth.login_form"))
        status = exc.status if 400 <= exc.status < 600 else 502
        return render_template("error.html", status=status, message=exc.message), status

    return app


SERVICE = ServiceDefinition(
    name=NAME,
    description="PocketStack's web dashboard.",
    schema=schema,
    make_app=make_app,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)


if __name__ == "__main__":
    main()
