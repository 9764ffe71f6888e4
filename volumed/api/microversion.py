"""Cinder's microversions: the client names the version it wants in
`OpenStack-API-Version: volume 3.N`; volumed answers in that version's shape.

volumed advertises 3.0 to MAX_VERSION and honours what it advertises:
  3.27  the attachments API
  3.44  attachments' os-complete action
  3.2   ?bootable= in volume lists is a strict boolean (before: any text but
        False/false/FALSE is true)
  3.13  group_id in a volume's details (always null: no groups here)
  3.21  provider_id in a volume's details, for admins
  3.12  GET /volumes/summary (404 before); 3.36 its metadata
  3.14  group_snapshot_id in a snapshot (always null); 3.41 its user_id
  3.9   PUT /backups/{id} (a backup's name and description)
  3.18  os-backup-project-attr:project_id in a backup's details, for admins
  3.33  a non-admin's unknown list filter is refused with 400 (backups;
        before: ignored)
  3.37  backups can be sorted by name
  3.43  backup metadata (in create, update and the details)
  3.40  the revert action (a volume back to its latest snapshot)
  3.42  os-extend of an in-use volume (the LUN and the guest learn the size)
Anything above MAX_VERSION is refused with 406, as Cinder does.
"""
from __future__ import annotations

from shared.errors import NotFound
from shared.microversion import Microversions
from shared.microversion import text as microversion_text

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 44)
HEADER = "OpenStack-API-Version"

VOLUME_LIST_BOOTABLE = (3, 2)
ATTACHMENTS = (3, 27)
ATTACHMENT_COMPLETE = (3, 44)
GROUP_VOLUME = (3, 13)
VOLUME_DETAIL_PROVIDER_ID = (3, 21)
BACKUP_UPDATE = (3, 9)
BACKUP_PROJECT = (3, 18)
RESOURCE_FILTER = (3, 33)
BACKUP_SORT_NAME = (3, 37)
BACKUP_METADATA = (3, 43)
VOLUME_SUMMARY = (3, 12)
SNAPSHOT_GROUP = (3, 14)
VOLUME_SUMMARY_METADATA = (3, 36)
SNAPSHOT_USER_ID = (3, 41)
VOLUME_REVERT = (3, 40)
VOLUME_EXTEND_INUSE = (3, 42)


VOLUME = Microversions("volume", MIN_VERSION, MAX_VERSION, default=MIN_VERSION)
text = microversion_text


def parse_request_version() -> tuple[int, int]:
    """The version this request asked for (3.0 when it names none)."""
    return VOLUME.parse()


def current() -> tuple[int, int]:
    return VOLUME.current()


def at_least(version: tuple[int, int]) -> bool:
    return current() >= version


def require(version: tuple[int, int]) -> None:
    """A resource that only exists from `version` on is 404 below it."""
    if not at_least(version):
        raise NotFound(f"The resource could not be found (it needs microversion "
                       f"{text(version)} or later; this request asked for "
                       f"{text(current())}).")
