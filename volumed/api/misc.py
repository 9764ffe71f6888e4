"""Small read-only resources the clients ask for: availability zones and
the list of extensions."""
from __future__ import annotations

from flask import Blueprint, jsonify

from volumed.api.common import check_url_project

bp = Blueprint("volume_misc", __name__, url_prefix="/v3/<project_id>")


@bp.get("/os-availability-zone")
def availability_zones(project_id):
    check_url_project(project_id)
    return jsonify({"availabilityZoneInfo": [{"zoneName": "nova",
                                              "zoneState": {"available": True}}]})


# The API extensions of Cinder whose fields and actions volumed serves, by
# Cinder's alias and name (what `cinder list-extensions` prints), with the
# date Cinder gives each.
EXTENSIONS = (
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "A volume's project id.",
     "2011-11-03T00:00:00+00:00"),
    ("os-vol-host-attr", "VolumeHostAttribute", "A volume's host, for admins.",
     "2011-11-03T00:00:00+00:00"),
    ("os-vol-mig-status-attr", "VolumeMigStatusAttribute",
     "A volume's migration status, for admins.", "2013-08-08T00:00:00+00:00"),
    ("os-vol-image-meta", "VolumeImageMetadata", "The image a volume was made from.",
     "2012-12-07T00:00:00+00:00"),
    ("os-volume-actions", "VolumeActions", "Volume actions: extend, attach, upload and more.",
     "2012-05-31T00:00:00+00:00"),
    ("os-admin-actions", "AdminActions", "Reset a status, force a delete.",
     "2012-08-25T00:00:00+00:00"),
    ("os-snapshot-actions", "SnapshotActions", "Snapshot actions.",
     "2013-07-16T00:00:00+00:00"),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
     "A snapshot's project and progress.", "2012-06-19T00:00:00+00:00"),
    ("os-types-manage", "TypesManage", "Create, change and delete volume types.",
     "2011-08-24T00:00:00+00:00"),
    ("os-types-extra-specs", "TypesExtraSpecs", "A volume type's extra specs.",
     "2011-08-24T00:00:00+00:00"),
    ("os-volume-type-access", "VolumeTypeAccess", "Whether a volume type is public.",
     "2014-06-26T00:00:00Z"),
    ("os-quota-sets", "Quotas", "Quotas.", "2011-08-08T00:00:00+00:00"),
    ("os-availability-zone", "AvailabilityZones", "Availability zones.",
     "2013-06-27T00:00:00+00:00"),
    ("backups", "Backups", "Backups support.", "2012-12-12T00:00:00+00:00"),
)


@bp.get("/extensions")
def extensions(project_id):
    check_url_project(project_id)
    return jsonify({"extensions": [
        {"alias": alias, "name": name, "description": description, "links": [],
         "updated": updated} for alias, name, description, updated in EXTENSIONS]})
