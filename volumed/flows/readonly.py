"""A volume's read-only flag (os-update_readonly_flag), kept as Cinder keeps
it: the admin metadata key "readonly" = "True"/"False", shown to everyone in
the volume's metadata.

A read-only volume is attached read-only: a new attachment gets attach_mode
"ro" (Cinder lets the flag override the mode asked for), so its
connection_info says access_mode "ro" and the compute service gives the
guest a read-only disk (libvirt <readonly/>). The older os-attach refuses
mode "rw" for it, and records the mode it attached with as "attached_mode"
until the detach, as Cinder does."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.domain import status
from volumed.flows import Deps, now

READONLY, ATTACHED_MODE = "readonly", "attached_mode"


def update_readonly_flag(deps: Deps, ctx: RequestContext, project_id: str | None,
                         volume_id: str, readonly: bool) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        if volume.status != status.AVAILABLE:
            raise BadRequest(f"Invalid volume: Volume {volume.id} status must be available "
                             f"to update readonly flag, but current status is: "
                             f"{volume.status}.")
        repo.set_admin_metadata(session, volume.id, READONLY, str(readonly))
        volume.updated_at = now()
        deps.event(ctx, "volume.update", volume, session=session, readonly=readonly)


def is_readonly(session: Session, volume_id: str) -> bool:
    return repo.admin_metadata(session, volume_id).get(READONLY) == "True"


def mode_for_new_attachment(session: Session, volume_id: str, asked: str | None) -> str:
    """The attachments API: the flag wins over the mode asked for."""
    return "ro" if is_readonly(session, volume_id) else (asked or "rw")


def mode_for_connection(session: Session, volume_id: str) -> str:
    """os-initialize_connection: the mode os-attach recorded, else the flag."""
    metadata = repo.admin_metadata(session, volume_id)
    return metadata.get(ATTACHED_MODE) or ("ro" if metadata.get(READONLY) == "True" else "rw")


def record_attach_mode(session: Session, volume_id: str, mode: str) -> None:
    """os-attach: refuse rw on a read-only volume; remember the mode."""
    readonly = repo.set_admin_metadata(session, volume_id, READONLY, "False", update=False)
    if readonly == "True" and mode != "ro":
        raise BadRequest(f"Invalid attaching mode '{mode}' for volume {volume_id}.")
    repo.set_admin_metadata(session, volume_id, ATTACHED_MODE, mode)


def forget_attach_mode(session: Session, volume_id: str) -> None:
    repo.delete_admin_metadata(session, volume_id, ATTACHED_MODE)
