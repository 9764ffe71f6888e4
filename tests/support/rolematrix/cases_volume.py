"""volumed's routes (Cinder v3). Every caller puts its own project in the
URL, as clients do (Cinder answers 400 to any other). A volume, snapshot,
backup or attachment of another project is not found (404: Cinder looks
them up within the caller's project, admins aside); then the rule decides,
with the resource's project as target.

Every volume action has a case (its label). An action that changes the
volume aims at a fresh one in the state the action needs (the world's
makers: reserved, connected, attached, detaching, with a snapshot), so each
allowed caller meets the same state; the others repeat harmlessly."""
from __future__ import annotations

from functools import partial

from tests.support.rolematrix.model import Case, owned_by
from tests.support.rolematrix.world import CONNECTOR

C = partial(Case, "volumed")
P = "/v3/<project_id>"
OWN = "/v3/{own_project}"
ALPHA = owned_by("alpha")
ALPHA_TARGET = {"project_id": "{alpha}"}


def v(rule: str) -> str:
    return f"volume:{rule}"


def alpha(route: str, path: str, rule: str | tuple[str, ...], **kwargs) -> Case:
    """A case on one of alpha's volumes, snapshots, backups, attachments."""
    return C(route, path, rule, target=ALPHA_TARGET, seen=ALPHA, **kwargs)


def action(name: str, rule: str, argument=None, volume: str = "{volume}",
           ok: tuple[int, ...] = (202,), **kwargs) -> Case:
    """POST .../volumes/{id}/action {name: argument} on one of alpha's
    volumes (`volume`: "{fresh}" with fresh=<maker>)."""
    return alpha(f"POST {P}/volumes/<volume_id>/action", OWN + f"/volumes/{volume}/action",
                 v(rule), json={name: {} if argument is None else argument}, ok=ok,
                 label=name, **kwargs)


def fresh_action(name: str, rule: str, maker: str, argument=None, **kwargs) -> Case:
    """An action that changes its volume: a new one per allowed call."""
    return action(name, rule, argument, volume="{fresh}", fresh=maker, **kwargs)


CASES = [
    C("GET /", "/", public=True, ok=(300,)),
    C("GET /v3", "/v3", public=True),
    C("GET /v3/", "/v3/", public=True),
    C(f"GET {P}/extensions", OWN + "/extensions"),
    C(f"GET {P}/os-availability-zone", OWN + "/os-availability-zone"),
    C(f"GET {P}/limits", OWN + "/limits", v("show_quotas")),
    # volumes
    C(f"GET {P}/volumes", OWN + "/volumes", v("get_all")),
    C(f"GET {P}/volumes/detail", OWN + "/volumes/detail", v("get_all")),
    C(f"GET {P}/volumes/summary", OWN + "/volumes/summary", v("get_all")),
    C(f"POST {P}/volumes", OWN + "/volumes", v("create"), ok=(202,),
      json={"volume": {"size": 1, "name": "{unique}"}}),
    alpha(f"GET {P}/volumes/<volume_id>", OWN + "/volumes/{volume}", v("get")),
    alpha(f"PUT {P}/volumes/<volume_id>", OWN + "/volumes/{volume}", v("update"),
          json={"volume": {"description": "changed"}}),
    alpha(f"DELETE {P}/volumes/<volume_id>", OWN + "/volumes/{fresh}", v("delete"),
          fresh="volume", ok=(202,)),
    # the volume actions
    fresh_action("os-extend", "extend", "volume", {"new_size": 2}),
    action("os-update_readonly_flag", "update_readonly_flag", {"readonly": False}),
    action("os-reset_status", "reset_status", {"status": "available"}),
    action("os-set_bootable", "update", {"bootable": False}, ok=(200,)),
    action("os-retype", "update", {"new_type": "{volume_type}"},
           why="every type is on the one backend: the label changes, the same each time"),
    fresh_action("os-force_delete", "force_delete", "volume"),
    fresh_action("os-volume_upload_image", "upload_to_image", "volume",
                 {"image_name": "{unique}", "disk_format": "qcow2"},
                 why="qcow2: the empty volume goes up as a small image"),
    fresh_action("revert", "revert_to_snapshot", "volume_with_snapshot",
                 {"snapshot_id": "{latest_snapshot}"}),
    # the older attach flow, each step on a volume the steps before it made
    fresh_action("os-reserve", "attach", "attachable_volume"),
    fresh_action("os-unreserve", "attach", "reserved_volume"),
    fresh_action("os-initialize_connection", "attach", "reserved_volume",
                 {"connector": CONNECTOR}, ok=(200,)),
    fresh_action("os-attach", "attach", "connected_volume",
                 {"instance_uuid": "0e3b9e5c-5b2e-4d67-9b1a-6f3f1a2b7c4d",
                  "mountpoint": "/dev/vdb"}),
    fresh_action("os-begin_detaching", "attach", "legacy_attached_volume"),
    fresh_action("os-roll_detaching", "attach", "detaching_volume"),
    fresh_action("os-terminate_connection", "attach", "legacy_attached_volume",
                 {"connector": CONNECTOR}),
    fresh_action("os-detach", "attach", "legacy_attached_volume"),
    alpha(f"GET {P}/volumes/<volume_id>/metadata", OWN + "/volumes/{volume}/metadata",
          v("get")),
    alpha(f"POST {P}/volumes/<volume_id>/metadata", OWN + "/volumes/{volume}/metadata",
          v("update"), json={"metadata": {"rm_added": "yes"}}),
    alpha(f"PUT {P}/volumes/<volume_id>/metadata", OWN + "/volumes/{volume}/metadata",
          v("update"), json={"metadata": {"rm": "a value"}}),
    alpha(f"GET {P}/volumes/<volume_id>/metadata/<key>",
          OWN + "/volumes/{volume}/metadata/rm", v("get")),
    alpha(f"PUT {P}/volumes/<volume_id>/metadata/<key>",
          OWN + "/volumes/{volume}/metadata/rm", v("update"), json={"meta": {"rm": "b"}}),
    alpha(f"DELETE {P}/volumes/<volume_id>/metadata/<key>",
          OWN + "/volumes/{fresh}/metadata/rm", v("update"), fresh="volume_with_metadata"),
    # snapshots
    C(f"GET {P}/snapshots", OWN + "/snapshots", v("get_snapshot")),
    C(f"GET {P}/snapshots/detail", OWN + "/snapshots/detail", v("get_snapshot")),
    alpha(f"POST {P}/snapshots", OWN + "/snapshots", v("create_snapshot"), ok=(202,),
          json={"snapshot": {"volume_id": "{volume}", "name": "{unique}"}}),
    alpha(f"GET {P}/snapshots/<snapshot_id>", OWN + "/snapshots/{snapshot}",
          v("get_snapshot")),
    alpha(f"PUT {P}/snapshots/<snapshot_id>", OWN + "/snapshots/{snapshot}",
          v("update_snapshot"), json={"snapshot": {"description": "changed"}}),
    alpha(f"DELETE {P}/snapshots/<snapshot_id>", OWN + "/snapshots/{fresh}",
          v("delete_snapshot"), fresh="snapshot", ok=(202,)),
    alpha(f"POST {P}/snapshots/<snapshot_id>/action", OWN + "/snapshots/{snapshot}/action",
          v("reset_status"), json={"os-reset_status": {"status": "available"}}, ok=(202,)),
    alpha(f"GET {P}/snapshots/<snapshot_id>/metadata",
          OWN + "/snapshots/{snapshot}/metadata", v("get_snapshot")),
    alpha(f"POST {P}/snapshots/<snapshot_id>/metadata",
          OWN + "/snapshots/{snapshot}/metadata", v("update_snapshot"),
          json={"metadata": {"rm": "a value"}}),
    alpha(f"PUT {P}/snapshots/<snapshot_id>/metadata",
          OWN + "/snapshots/{snapshot}/metadata", v("update_snapshot"),
          json={"metadata": {"rm": "b"}}),
    # backups (Cinder's own rule names)
    C(f"GET {P}/backups", OWN + "/backups", "backup:get_all"),
    C(f"GET {P}/backups/detail", OWN + "/backups/detail", "backup:get_all"),
    alpha(f"GET {P}/backups/<backup_id>", OWN + "/backups/{backup}", "backup:get"),
    alpha(f"PUT {P}/backups/<backup_id>", OWN + "/backups/{backup}", "backup:update",
          json={"backup": {"description": "changed"}}),
    alpha(f"DELETE {P}/backups/<backup_id>", OWN + "/backups/{fresh}", "backup:delete",
          fresh="backup", ok=(202,)),
    alpha(f"POST {P}/backups/<backup_id>/restore", OWN + "/backups/{fresh}/restore",
          "backup:restore", fresh="backup", ok=(202,),
          json={"restore": {"name": "{unique}"}}),
    alpha(f"POST {P}/backups/<backup_id>/action", OWN + "/backups/{backup}/action",
          "volume_extension:backup_admin_actions:reset_status", ok=(202,),
          json={"os-reset_status": {"status": "available"}}),
    # (after the others: the backups it begins would delay the pool's)
    alpha(f"POST {P}/backups", OWN + "/backups", "backup:create", fresh="volume", ok=(202,),
          json={"backup": {"volume_id": "{fresh}", "name": "{unique}"}}),
    # attachments (3.27 and later)
    C(f"GET {P}/attachments", OWN + "/attachments", v("get")),
    C(f"GET {P}/attachments/detail", OWN + "/attachments/detail", v("get")),
    alpha(f"POST {P}/attachments", OWN + "/attachments", v("attach"), fresh="volume",
          json={"attachment": {"volume_uuid": "{fresh}",
                               "instance_uuid": "0e3b9e5c-5b2e-4d67-9b1a-6f3f1a2b7c4d"}}),
    alpha(f"GET {P}/attachments/<attachment_id>", OWN + "/attachments/{attachment}",
          v("get")),
    alpha(f"PUT {P}/attachments/<attachment_id>", OWN + "/attachments/{fresh}", v("attach"),
          fresh="attachment", json={"attachment": {"connector": CONNECTOR}}),
    alpha(f"POST {P}/attachments/<attachment_id>/action",
          OWN + "/attachments/{fresh}/action", v("attach"), fresh="connected_attachment",
          json={"os-complete": None}, ok=(204,)),
    alpha(f"DELETE {P}/attachments/<attachment_id>", OWN + "/attachments/{fresh}",
          v("attach"), fresh="attachment"),
    # volume types: anyone reads, admins manage
    C(f"GET {P}/types", OWN + "/types", v("get_type")),
    C(f"GET {P}/types/default", OWN + "/types/default", v("get_type")),
    C(f"GET {P}/types/<type_id>", OWN + "/types/{volume_type}", v("get_type")),
    C(f"GET {P}/types/<type_id>/extra_specs", OWN + "/types/{volume_type}/extra_specs",
      v("get_type")),
    C(f"POST {P}/types", OWN + "/types", v("manage_types"),
      json={"volume_type": {"name": "{unique}"}}),
    C(f"PUT {P}/types/<type_id>", OWN + "/types/{volume_type}", v("manage_types"),
      json={"volume_type": {"description": "changed"}}),
    C(f"DELETE {P}/types/<type_id>", OWN + "/types/{fresh}", v("manage_types"),
      fresh="volume_type", ok=(202,)),
    C(f"POST {P}/types/<type_id>/extra_specs", OWN + "/types/{volume_type}/extra_specs",
      v("manage_types"), json={"extra_specs": {"rm:spec": "a value"}}),
    # quotas (changed: beta's, whose member may not change them either)
    C(f"GET {P}/os-quota-sets/<target>", OWN + "/os-quota-sets/{alpha}", v("show_quotas"),
      target=ALPHA_TARGET),
    C(f"GET {P}/os-quota-sets/<target>/defaults", OWN + "/os-quota-sets/{alpha}/defaults",
      v("show_quotas"), target=ALPHA_TARGET),
    C(f"PUT {P}/os-quota-sets/<target>", OWN + "/os-quota-sets/{beta}", v("update_quotas"),
      target={"project_id": "{beta}"}, json={"quota_set": {"volumes": 50}}),
    C(f"DELETE {P}/os-quota-sets/<target>", OWN + "/os-quota-sets/{beta}",
      v("update_quotas"), target={"project_id": "{beta}"}),
    C("GET /pocketstack/v1/events", "/pocketstack/v1/events", "events:list"),
]
