"""The actions: each POST makes one API call (or two) as the logged-in user
and goes back to a page that shows the outcome. A refusal by the service
(another project's server: 404; policy: 403; a bad request: 400) is shown
on that page with the service's own message: the dashboard decides nothing
the APIs would not.

Every POST carries the session's CSRF token (checked before any of these
runs, see app.py).
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, redirect, request, url_for

from dashboard import serverview
from dashboard.cloud import CloudError
from dashboard.web import cloud, current_session, login_required, refused

LOG = logging.getLogger(__name__)
bp = Blueprint("actions", __name__)


@bp.post("/images/upload")
@login_required
def upload_image():
    """The browser's XHR sends the file as the body (name and formats in the
    query); it is streamed on to imaged as it arrives: create the record
    (queued), then PUT its data (saving, then active). The browser shows
    the upload's progress from its own XHR progress events."""
    length = request.content_length
    name = request.args.get("name", "").strip()
    if not name or not length:
        abort(400, "An upload needs a name and a non-empty file.")
    user_cloud = cloud()
    try:
        created = user_cloud.create_image(name, request.args.get("disk_format", "qcow2"),
                                          request.args.get("container_format", "bare"))
        LOG.info("image %s (%s): uploading %d bytes", created["id"], name, length)
        user_cloud.upload_image_data(created["id"], request.stream, length)
    except CloudError as exc:
        return jsonify({"error": exc.message, "status": exc.status}), exc.status
    return jsonify({"id": created["id"], "url": url_for("pages.image",
                                                        image_id=created["id"])})


@bp.post("/servers/launch")
@login_required
def launch():
    """Launch a server; the host's resources are read first (when the user
    may), so the server's page shows them before and after."""
    form = request.form
    user_cloud = cloud()
    try:
        before = serverview.host_resources(user_cloud.hypervisors())
    except CloudError:
        before = None
    try:
        server_id = user_cloud.launch(form.get("name", "").strip() or "server",
                                      form.get("image_id", ""), form.get("flavor_id", ""),
                                      form.get("network_id") or None,
                                      form.get("key_name") or None)
    except CloudError as exc:
        return refused(exc, url_for("pages.launch_form"))
    if before is not None:
        current_session().resources_before[server_id] = serverview.resources_as_dict(before)
    current_session().say(f"Server {server_id} is being launched: watch the timeline.")
    return redirect(url_for("pages.server", server_id=server_id))


@bp.post("/servers/<server_id>/terminate")
@login_required
def terminate(server_id: str):
    try:
        cloud().terminate(server_id)
    except CloudError as exc:
        return refused(exc, url_for("pages.servers"))
    current_session().say(f"Server {server_id} is being terminated.")
    return redirect(url_for("pages.servers"))


@bp.post("/servers/<server_id>/snapshot")
@login_required
def snapshot(server_id: str):
    name = request.form.get("name", "").strip() or f"snapshot-{server_id[:8]}"
    try:
        image_id = cloud().snapshot(server_id, name)
    except CloudError as exc:
        return refused(exc, url_for("pages.server", server_id=server_id))
    current_session().say(f"Snapshot {name} is being made (image {image_id}).")
    return redirect(url_for("pages.image", image_id=image_id) if image_id
                    else url_for("pages.images"))


@bp.post("/servers/<server_id>/attach")
@login_required
def attach(server_id: str):
    back = url_for("pages.server", server_id=server_id)
    try:
        attachment = cloud().attach_volume(server_id, request.form.get("volume_id", ""))
    except CloudError as exc:
        return refused(exc, back)
    current_session().say(f"Volume {attachment.get('volumeId')} is being attached as "
                          f"{attachment.get('device')}.")
    return redirect(back)


@bp.post("/servers/<server_id>/detach/<volume_id>")
@login_required
def detach(server_id: str, volume_id: str):
    back = url_for("pages.server", server_id=server_id)
    try:
        cloud().detach_volume(server_id, volume_id)
    except CloudError as exc:
        return refused(exc, back)
    current_session().say(f"Volume {volume_id} is being detached.")
    return redirect(back)


@bp.post("/volumes/create")
@login_required
def create_volume():
    try:
        size = int(request.form.get("size", "1"))
        volume = cloud().create_volume(request.form.get("name", "").strip() or "volume", size)
    except ValueError:
        current_session().say("The size is a whole number of GB.", "error")
        return redirect(url_for("pages.volumes"))
    except CloudError as exc:
        return refused(exc, url_for("pages.volumes"))
    current_session().say(f"Volume {volume['id']} is being created.")
    return redirect(url_for("pages.volumes"))
