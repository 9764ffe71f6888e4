"""The pages: each reads what it shows from the APIs as the logged-in user.

A list the user's role may not read (the host's resources, for a member)
is shown as such, not as an error: the page says what policy hides.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template

from dashboard import imageflow, serverview
from dashboard.cloud import Cloud, CloudError
from dashboard.web import cloud, current_session, login_required, or_404

bp = Blueprint("pages", __name__)


def _maybe(fetch: Callable[[], Any]) -> tuple[Any, str | None]:
    """(answer, None), or (None, why) when the API refused or failed."""
    try:
        return fetch(), None
    except CloudError as exc:
        return None, ("not visible to your role" if exc.status == 403
                      else f"{exc.status}: {exc.message}")


def _resources(user_cloud: Cloud) -> tuple[list[serverview.Resource] | None, str | None]:
    hypervisors, why = _maybe(user_cloud.hypervisors)
    return (serverview.host_resources(hypervisors) if hypervisors is not None else None), why


@bp.get("/")
@login_required
def overview():
    user_cloud = cloud()
    counts = {}
    for name, fetch in (("servers", user_cloud.servers), ("images", user_cloud.images),
                        ("volumes", user_cloud.volumes),
                        ("networks", user_cloud.networks)):
        found, why = _maybe(fetch)
        counts[name] = len(found) if found is not None else why
    resources, resources_why = _resources(user_cloud)
    return render_template("overview.html", counts=counts, resources=resources,
                           resources_why=resources_why)


@bp.get("/images")
@login_required
def images():
    return render_template("images.html", images=cloud().images())


@bp.get("/images/<image_id>")
@login_required
def image(image_id: str):
    found = or_404(lambda: cloud().image(image_id))
    return render_template("image.html", image=found,
                           flow=imageflow.diagram(found.get("status")))


@bp.get("/servers")
@login_required
def servers():
    return render_template("servers.html", servers=cloud().servers())


@bp.get("/servers/launch")
@login_required
def launch_form():
    user_cloud = cloud()
    networks, _ = _maybe(user_cloud.networks)
    keypairs, _ = _maybe(user_cloud.keypairs)
    return render_template("launch.html",
                           images=[i for i in user_cloud.images() if i["status"] == "active"],
                           flavors=sorted(user_cloud.flavors(), key=lambda f: f["ram"]),
                           networks=networks or [], keypairs=keypairs or [])


@bp.get("/servers/<server_id>")
@login_required
def server(server_id: str):
    user_cloud = cloud()
    found = or_404(lambda: user_cloud.server(server_id))
    flavor, _ = _maybe(lambda: user_cloud.flavor(found["flavor"]["id"]))
    attachments, _ = _maybe(lambda: user_cloud.volume_attachments(server_id))
    console, console_why = _maybe(lambda: user_cloud.console_log(server_id))
    if console is None and found["status"] == "BUILD":
        console_why = "none yet: the guest is not running"
    volumes, _ = _maybe(user_cloud.volumes)
    resources, resources_why = _resources(user_cloud)
    before = current_session().resources_before.get(server_id)
    return render_template(
        "server.html", server=found, flavor=flavor,
        disks=serverview.disks(found, flavor, attachments or [], volumes or []),
        attachments=attachments or [], console=console, console_why=console_why,
        free_volumes=[v for v in volumes or [] if v["status"] == "available"],
        resources=resources, resources_why=resources_why,
        resources_before=serverview.resources_from_dict(before) if before else None)


@bp.get("/volumes")
@login_required
def volumes():
    user_cloud = cloud()
    servers, _ = _maybe(user_cloud.servers)
    names = {s["id"]: s["name"] for s in servers or []}
    return render_template("volumes.html", volumes=user_cloud.volumes(), server_names=names)


@bp.get("/flavors")
@login_required
def flavors():
    return render_template("flavors.html",
                           flavors=sorted(cloud().flavors(), key=lambda f: f["ram"]))


@bp.get("/networks")
@login_required
def networks():
    user_cloud = cloud()
    return render_template("networks.html", networks=user_cloud.networks(),
                           subnets=user_cloud.subnets(), routers=user_cloud.routers(),
                           floating_ips=user_cloud.floating_ips())


@bp.get("/timeline")
@login_required
def timeline():
    return render_template("timeline.html")
