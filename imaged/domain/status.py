"""The image status machine (Glance v2's, import statuses included).

::

                       POST /v2/images
                              |
                              v
           +-------------> queued <------------------------------+
           |                |   |                                |
           |     PUT /file  |   | PATCH add /locations           |
           |                v   |  (http location: no upload)    |
           |  interrupted, saving|                                |
           |  over size cap, |   |                                | last location
           |  over quota,    |   |                                | removed
           |  store error    |   |                                |
           +----------------+   |                                |
                            |   |                                |
         data proven bad    |   v                                |
    killed <----------------+ active ----------------------------+
       |   (unsafe content,     |  ^
       |    wrong format)       |  | reactivate (admin)
       |         deactivate     v  |
       |         (admin)     deactivated
       |                        |
       |    DELETE (any status but deleted/pending_delete)
       v                        v
    deleted <---- scrubber ---- pending_delete   (only with delayed_delete
                  after            ^               and data in a store)
                  scrub_time       |
                                   DELETE

Why each edge is where it is:

* queued -> saving happens in one short database transaction that checks
  the status is still queued (compare-and-set), so two uploads to the same
  image cannot both start; the data transfer itself runs with no database
  transaction open.
* saving -> queued (not killed) for an upload that failed *before* the data
  could be judged: the client went away, the data was bigger than the size
  cap or the quota, the store failed. Nothing is wrong with the image
  record, so the user can simply upload again, as in Glance v2.
* saving -> killed when the data was received in full and proven bad (the
  format inspector found an unsafe image, or content that is not the
  declared disk_format). The data is deleted and a killed image can never
  be served or uploaded again: only deleted.
* In every failure the partial data is removed from the store before the
  status changes, so a store never holds bytes that no active image owns.
* An image registered with a location (an http URL) goes queued -> active
  directly: its data is never uploaded, so it never passes through saving.
* deactivate/reactivate only flip active <-> deactivated; asking again for
  the status an image already has is a no-op, as in Glance.
* With delayed_delete, DELETE moves an image that has data to
  pending_delete: the record disappears from the API at once, the data stays
  until imaged-scrubber removes it once scrub_time has passed, then the
  record becomes deleted. Without data (queued, killed) it is deleted at once.

* Interoperable import (imaged/imports/flow.py) has two statuses of its
  own: PUT /stage moves queued -> uploading (the data goes to the staging
  area, not a store), POST /import moves uploading (glance-direct) or
  queued (web-download) -> importing, and the import ends importing ->
  active, or importing -> queued with os_glance_failed_import set when it
  failed (nothing is wrong with the record: import again). A failed stage
  goes uploading -> queued. PUT /file is refused while uploading and PUT
  /stage while saving, so the two ways in can never mix on one image.

Any other change is refused with 409 and a message naming the current status.
"""
from __future__ import annotations

from imaged.domain.errors import IllegalTransition

QUEUED = "queued"
SAVING = "saving"
ACTIVE = "active"
KILLED = "killed"
DEACTIVATED = "deactivated"
PENDING_DELETE = "pending_delete"
DELETED = "deleted"
# Glance's import flow statuses (see imaged/imports/flow.py).
UPLOADING = "uploading"
IMPORTING = "importing"

ALL_STATUSES = (QUEUED, SAVING, ACTIVE, KILLED, DELETED, UPLOADING, IMPORTING,
                PENDING_DELETE, DEACTIVATED)

TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SAVING, ACTIVE, DELETED, UPLOADING, IMPORTING}),
    SAVING: frozenset({ACTIVE, QUEUED, KILLED, DELETED}),
    UPLOADING: frozenset({IMPORTING, QUEUED, DELETED}),
    IMPORTING: frozenset({ACTIVE, QUEUED, DELETED}),
    ACTIVE: frozenset({DEACTIVATED, QUEUED, DELETED, PENDING_DELETE}),
    DEACTIVATED: frozenset({ACTIVE, DELETED, PENDING_DELETE}),
    KILLED: frozenset({DELETED}),
    PENDING_DELETE: frozenset({DELETED}),
    DELETED: frozenset(),
}

# Statuses whose record the API no longer shows (404), as in Glance.
GONE = frozenset({DELETED, PENDING_DELETE})


def can_change(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def require(current: str, target: str, doing: str) -> None:
    """Refuse (409) a change the diagram above does not have."""
    if not can_change(current, target):
        raise IllegalTransition(f"Cannot {doing}: the image's status is {current}.")


def require_uploadable(image_id: str, current: str) -> None:
    if current != QUEUED:
        raise IllegalTransition(f"Image {image_id} is {current}: data can only be uploaded "
                                f"to a queued image.")


def require_stageable(image_id: str, current: str) -> None:
    """PUT /stage: only a queued image (never one being saved by PUT /file)."""
    if current != QUEUED:
        raise IllegalTransition(f"Image {image_id} is {current}: data can only be staged "
                                f"for a queued image.")


def after_deactivate(current: str) -> str:
    """deactivated, or 409 (asking again is a no-op)."""
    if current == DEACTIVATED:
        return DEACTIVATED
    require(current, DEACTIVATED, "deactivate the image (only an active image can be)")
    return DEACTIVATED


def after_reactivate(current: str) -> str:
    if current == ACTIVE:
        return ACTIVE
    if current != DEACTIVATED:
        raise IllegalTransition(f"Cannot reactivate the image: the image's status is "
                                f"{current} (only a deactivated image can be).")
    return ACTIVE


def after_delete(current: str, has_data: bool, delayed_delete: bool) -> str:
    """deleted, or pending_delete when the scrubber should remove the data later."""
    if current in GONE:
        raise IllegalTransition(f"Cannot delete the image: the image's status is {current}.")
    if delayed_delete and has_data and current in (ACTIVE, DEACTIVATED):
        return PENDING_DELETE
    return DELETED
