"""Log in and log out.

Login checks the credentials with identity (POST /v3/auth/tokens) and keeps
the token in a new server-side session; the password is used for that one
call and forgotten. Logout revokes the token at identity (DELETE
/v3/auth/tokens), so it stops working in every service at once.
"""
from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for

from dashboard.cloud import CloudError, log_in
from dashboard.web import conf, current_session, replace_session, store

LOG = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


@bp.get("/login")
def login_form():
    return render_template("login.html", user="", project="")


@bp.post("/login")
def login():
    user = request.form.get("user", "").strip()
    project = request.form.get("project", "").strip() or user
    try:
        login = log_in(conf().auth.identity_url, user, request.form.get("password", ""),
                       project, conf().dashboard.api_timeout)
    except CloudError as exc:
        LOG.info("login of user %r to project %r refused (%s)", user, project, exc.status)
        current_session().say("Login refused: check the user, password and project."
                              if exc.status == 401 else f"Login failed: {exc.message}",
                              "error")
        return render_template("login.html", user=user, project=project), 401
    replace_session(store().log_in(current_session(), login))
    LOG.info("user %s logged in to project %s", login.user_name, login.project_name)
    return redirect(url_for("pages.overview"))


@bp.post("/logout")
def logout():
    session = current_session()
    if session.login is not None:
        LOG.info("user %s logged out", session.login.user_name)
        store().end(session)
    replace_session(store().anonymous())
    return redirect(url_for("auth.login_form"))
