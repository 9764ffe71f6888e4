"""The volume and snapshot status machines.

A volume's status says what it is doing now. Long actions pass through a
transient status (creating, downloading, extending, uploading, deleting) that
only volumed itself leaves; attach and detach pass through reserved,
attaching and detaching, driven by the caller (a compute service) step by
step. Every API action first asks `require(action, status)`: an action that
is not allowed in the current status is refused with 400 and a message that
names the status and what would be needed, as Cinder does (InvalidVolume).

    creating ──► available ◄──────────────────────────┐
    downloading ─┘   │ ▲  ▲                            │
                     │ │  └─ extending / uploading ────┤
                     ▼ │                               │
                   reserved ─► attaching ─► in-use ─► detaching
                     │
                   deleting ─► (deleted)     error, error_deleting,
                                             error_extending: stable
"""
from __future__ import annotations

from shared.errors import BadRequest

CREATING = "creating"
AVAILABLE = "available"
RESERVED = "reserved"
ATTACHING = "attaching"
IN_USE = "in-use"
DETACHING = "detaching"
DELETING = "deleting"
ERROR = "error"
ERROR_DELETING = "error_deleting"
ERROR_EXTENDING = "error_extending"
EXTENDING = "extending"
DOWNLOADING = "downloading"
UPLOADING = "uploading"
# While a backup copies the volume, or is restored into it (flows/backups.py).
BACKING_UP = "backing-up"
RESTORING_BACKUP = "restoring-backup"
ERROR_RESTORING = "error_restoring"
# While the volume's data is replaced by its latest snapshot's (3.40, flows/revert.py).
REVERTING = "reverting"

ALL_STATUSES = (CREATING, AVAILABLE, RESERVED, ATTACHING, IN_USE, DETACHING, DELETING,
                ERROR, ERROR_DELETING, ERROR_EXTENDING, EXTENDING, DOWNLOADING, UPLOADING,
                BACKING_UP, RESTORING_BACKUP, ERROR_RESTORING, REVERTING)

# Statuses only volumed's own background work leaves. If volumed stops while a
# volume is in one of them, nothing will ever move it on: reconcile does
# (backing-up and restoring-backup too, from the backups' side:
# flows/backups.py reconcile_backups).
TRANSIENT = (CREATING, DOWNLOADING, EXTENDING, UPLOADING, DELETING, REVERTING, DETACHING)

# Action -> statuses in which it is allowed.
ALLOWED: dict[str, tuple[str, ...]] = {
    "delete": (AVAILABLE, ERROR, ERROR_DELETING, ERROR_EXTENDING, ERROR_RESTORING),
    "force_delete": ALL_STATUSES,
    "extend": (AVAILABLE,),
    "extend_attached": (AVAILABLE, IN_USE),  # 3.42
    "snapshot": (AVAILABLE,),
    "snapshot_forced": (AVAILABLE, IN_USE),
    "clone": (AVAILABLE, IN_USE),
    "upload_to_image": (AVAILABLE,),
    "upload_to_image_forced": (AVAILABLE, IN_USE),
    "reserve": (AVAILABLE,),
    "unreserve": (RESERVED, ATTACHING),
    "attachment_create": (AVAILABLE,),
    "attachment_update": (AVAILABLE, RESERVED, ATTACHING, IN_USE),
    "initialize_connection": (AVAILABLE, RESERVED, ATTACHING, IN_USE),
    "attach": (AVAILABLE, RESERVED, ATTACHING, IN_USE),
    "begin_detaching": (IN_USE,),
    "roll_detaching": (DETACHING,),
    "detach": (IN_USE, DETACHING, ATTACHING, RESERVED),
}

SNAPSHOT_CREATING, SNAPSHOT_AVAILABLE, SNAPSHOT_DELETING = "creating", "available", "deleting"
SNAPSHOT_ERROR, SNAPSHOT_ERROR_DELETING = "error", "error_deleting"
SNAPSHOT_BACKING_UP = "backing-up"
SNAPSHOT_RESTORING = "restoring"  # while a volume is reverted to it
SNAPSHOT_STATUSES = (SNAPSHOT_CREATING, SNAPSHOT_AVAILABLE, SNAPSHOT_DELETING,
                     SNAPSHOT_ERROR, SNAPSHOT_ERROR_DELETING, SNAPSHOT_BACKING_UP,
                     SNAPSHOT_RESTORING)
SNAPSHOT_ALLOWED = {
    "delete": (SNAPSHOT_AVAILABLE, SNAPSHOT_ERROR, SNAPSHOT_ERROR_DELETING),
    "create_volume_from": (SNAPSHOT_AVAILABLE,),
}

WORDS = {
    "delete": "be deleted", "force_delete": "be force-deleted", "extend": "be extended",
    "extend_attached": "be extended",
    "snapshot": "be snapshotted (pass force=true for an in-use volume)",
    "snapshot_forced": "be snapshotted", "clone": "be cloned",
    "upload_to_image": "be uploaded to an image (pass force=true for an in-use volume)",
    "upload_to_image_forced": "be uploaded to an image", "reserve": "be reserved",
    "unreserve": "be unreserved", "attachment_create": "get a new attachment",
    "attachment_update": "be connected", "initialize_connection": "be connected",
    "attach": "be attached", "begin_detaching": "begin detaching",
    "roll_detaching": "roll back detaching", "detach": "be detached",
}


def allowed(action: str, status: str) -> bool:
    return status in ALLOWED[action]


def require(action: str, status: str, what: str = "Volume") -> None:
    """Raise 400 unless `action` is allowed for a volume in `status`."""
    if status not in ALLOWED[action]:
        raise BadRequest(f"Invalid volume: {what} status must be "
                         f"{' or '.join(ALLOWED[action])} to {WORDS[action]}, "
                         f"but it is {status}.")


def require_snapshot(action: str, status: str) -> None:
    if status not in SNAPSHOT_ALLOWED[action]:
        raise BadRequest(f"Invalid snapshot: status must be "
                         f"{' or '.join(SNAPSHOT_ALLOWED[action])}, but it is {status}.")


def status_after_detach(remaining_attachments: int) -> str:
    """A volume with no attachment left is available again."""
    return IN_USE if remaining_attachments else AVAILABLE


def status_after_unfinished(status: str, file_exists: bool, previous: str | None,
                            attachments: int) -> str | None:
    """The true status of a volume found in a transient status after a
    restart (None: the volume is gone). Data is never thrown away here: a
    volume whose file exists is kept, whatever it was doing."""
    if status in (CREATING, DOWNLOADING):
        # The file is renamed into place as the very last step of a create.
        return AVAILABLE if file_exists else ERROR
    if status == DELETING:
        return ERROR_DELETING if file_exists else None
    if status == EXTENDING:
        if not file_exists:
            return ERROR_EXTENDING
        return IN_USE if attachments else AVAILABLE
    if status == REVERTING:
        # The revert swaps the whole file in one rename: what is there is
        # whole, either the old data or the snapshot's.
        return AVAILABLE if file_exists else ERROR
    if status == UPLOADING:
        if previous in (AVAILABLE, IN_USE):
            return previous
        return IN_USE if attachments else AVAILABLE
    if status == DETACHING:
        # (the deletes of attachments left detaching are finished first:
        # what is still attached keeps the volume in use)
        return IN_USE if attachments else AVAILABLE
    return status


def snapshot_status_after_unfinished(status: str, file_exists: bool) -> str | None:
    if status == SNAPSHOT_CREATING:
        return SNAPSHOT_AVAILABLE if file_exists else SNAPSHOT_ERROR
    if status == SNAPSHOT_DELETING:
        return SNAPSHOT_ERROR_DELETING if file_exists else None
    if status == SNAPSHOT_RESTORING:
        return SNAPSHOT_AVAILABLE if file_exists else SNAPSHOT_ERROR
    return status
