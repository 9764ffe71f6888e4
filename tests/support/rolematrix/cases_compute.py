"""computed's routes (Nova v2.1). A server of another project is not found
(404: Nova looks instances up within the caller's project, admins aside);
then the rule decides with the server's project as target. A key pair is
looked up among the caller's own (404 for anyone else's, admins too, unless
they name the user). Nova's /v2.1/images proxy asks Glance with the
caller's token, so Glance's rules and visibility decide there.

Every server action computed implements has a case (its label). Those Nova
allows in some states only aim at the server in ERROR without a host:
Nova asks the rule first, then refuses the state (409), so an allowed call
is told from a refused one and changes nothing the next caller meets.
Lock and unlock, allowed in any state, aim at servers of their own; the
consoles at the running server."""
from __future__ import annotations

from functools import partial

from tests.support.rolematrix.model import Case, belongs_to, owned_by

C = partial(Case, "computed")
ALPHA = owned_by("alpha")
ALPHA_TARGET = {"project_id": "{alpha}"}
SERVER = "/v2.1/servers/<server_id>"
ONE = "/v2.1/servers/{server}"
FRESH = "/v2.1/servers/{fresh}"
# Hot-plug writes aim at a server in ERROR (no guest): Nova asks the rule
# before the server's state, so an allowed caller meets the state (409).
ERRORED = "/v2.1/servers/{errored_server}"
IN_ERROR = "policy passed; the server is in ERROR, where Nova refuses the change"
NOT_NOW = "policy passed; Nova refuses it in vm_state error, or without a host (not ready)"
NO_GRAPHICS = "policy passed; the guests have no graphics: 'Unavailable console type'"
FLAVOR = "/v2.1/flavors/<flavorid>"
IMAGE = "/v2.1/images/<image_id>"
TAGS = {"X-OpenStack-Nova-API-Version": "2.26"}
ALPHA_IMAGE = {"project_id": "{alpha}", "owner": "{alpha}", "visibility": "private"}


def n(rule: str) -> str:
    return f"os_compute_api:{rule}"


def server(route: str, path: str, rule: str, **kwargs) -> Case:
    """A case on alpha's server."""
    return C(route, path, n(rule), target=ALPHA_TARGET, seen=ALPHA, **kwargs)


def action(name: str, rule: str | tuple[str, ...], argument=None, server: str = ERRORED,
           ok: tuple[int, ...] = (409,), why: str = NOT_NOW) -> Case:
    """POST /servers/{id}/action {name: argument} on one of alpha's servers
    (the one in ERROR unless `server` names another)."""
    rules = (rule,) if isinstance(rule, str) else rule
    return C(f"POST {SERVER}/action", server + "/action", tuple(n(r) for r in rules),
             target=ALPHA_TARGET, seen=ALPHA, json={name: argument}, ok=ok, why=why,
             label=name)


def glance(route: str, path: str, rule: str, **kwargs) -> Case:
    """A case of Nova's image proxy on alpha's private image."""
    return C(route, path, rule, target=ALPHA_IMAGE, seen=ALPHA, policy_service="imaged",
             **kwargs)


CASES = [
    C("GET /", "/", public=True),
    C("GET /v2.1", "/v2.1", public=True),
    C("GET /v2.1/", "/v2.1/", public=True),
    C("GET /v2.1/limits", "/v2.1/limits", n("limits")),
    C("GET /v2.1/os-availability-zone", "/v2.1/os-availability-zone",
      n("os-availability-zone:list")),
    C("GET /v2.1/os-availability-zone/detail", "/v2.1/os-availability-zone/detail",
      n("os-availability-zone:detail")),
    C("GET /v2.1/os-hypervisors", "/v2.1/os-hypervisors", n("os-hypervisors:list")),
    C("GET /v2.1/os-hypervisors/detail", "/v2.1/os-hypervisors/detail",
      n("os-hypervisors:list")),
    C("GET /v2.1/os-hypervisors/statistics", "/v2.1/os-hypervisors/statistics",
      n("os-hypervisors:statistics")),
    C("GET /v2.1/os-hypervisors/<hypervisor_id>", "/v2.1/os-hypervisors/{hypervisor}",
      n("os-hypervisors:show")),
    C("GET /v2.1/os-migrations", "/v2.1/os-migrations", n("os-migrations:index")),
    C("GET /v2.1/os-simple-tenant-usage", "/v2.1/os-simple-tenant-usage",
      n("os-simple-tenant-usage:list")),
    C("GET /v2.1/os-simple-tenant-usage/<project_id>", "/v2.1/os-simple-tenant-usage/{alpha}",
      n("os-simple-tenant-usage:show"), target=ALPHA_TARGET),
    C("GET /v2.1/os-quota-sets/<project_id>", "/v2.1/os-quota-sets/{alpha}",
      n("os-quota-sets:show"), target=ALPHA_TARGET),
    C("GET /v2.1/os-quota-sets/<project_id>/detail", "/v2.1/os-quota-sets/{alpha}/detail",
      n("os-quota-sets:detail"), target=ALPHA_TARGET),
    C("GET /v2.1/os-quota-sets/<project_id>/defaults", "/v2.1/os-quota-sets/{alpha}/defaults",
      n("os-quota-sets:defaults"), target=ALPHA_TARGET),
    C("POST /v2.1/os-server-external-events", "/v2.1/os-server-external-events",
      n("os-server-external-events:create"),
      json={"events": [{"name": "network-changed", "server_uuid": "{server}"}]}),
    # flavors: anyone reads, admins manage
    C("GET /v2.1/flavors", "/v2.1/flavors", n("flavors:index")),
    C("GET /v2.1/flavors/detail", "/v2.1/flavors/detail", n("flavors:index")),
    C(f"GET {FLAVOR}", "/v2.1/flavors/1", n("flavors:index")),
    C("POST /v2.1/flavors", "/v2.1/flavors", n("os-flavor-manage:create"),
      json={"flavor": {"name": "{unique}", "ram": 64, "vcpus": 1, "disk": 1}}),
    C(f"DELETE {FLAVOR}", "/v2.1/flavors/{fresh}", n("os-flavor-manage:delete"),
      fresh="flavor", ok=(202,)),
    C(f"POST {FLAVOR}/action", "/v2.1/flavors/{fresh}/action",
      n("os-flavor-access:add_tenant_access"), fresh="flavor",
      json={"addTenantAccess": {"tenant": "{beta}"}}),
    C(f"GET {FLAVOR}/os-flavor-access", "/v2.1/flavors/{flavor}/os-flavor-access",
      n("os-flavor-access")),
    C(f"GET {FLAVOR}/os-extra_specs", "/v2.1/flavors/{public_flavor}/os-extra_specs",
      n("os-flavor-extra-specs:index")),
    C(f"POST {FLAVOR}/os-extra_specs", "/v2.1/flavors/{public_flavor}/os-extra_specs",
      n("os-flavor-extra-specs:create"), json={"extra_specs": {"rm:other": "x"}}),
    C(f"GET {FLAVOR}/os-extra_specs/<key>",
      "/v2.1/flavors/{public_flavor}/os-extra_specs/rm:spec",
      n("os-flavor-extra-specs:index")),
    C(f"PUT {FLAVOR}/os-extra_specs/<key>",
      "/v2.1/flavors/{public_flavor}/os-extra_specs/rm:spec",
      n("os-flavor-extra-specs:create"), json={"rm:spec": "changed"}),
    C(f"DELETE {FLAVOR}/os-extra_specs/<key>", "/v2.1/flavors/{fresh}/os-extra_specs/rm:spec",
      n("os-flavor-extra-specs:delete"), fresh="flavor", ok=(202,)),
    # key pairs: the alpha member's
    C("GET /v2.1/os-keypairs", "/v2.1/os-keypairs", n("os-keypairs:index"),
      target={"user_id": "{own_user}"}),
    C("POST /v2.1/os-keypairs", "/v2.1/os-keypairs", n("os-keypairs:create"),
      target={"user_id": "{own_user}"}, json={"keypair": {"name": "{unique}"}}),
    C("GET /v2.1/os-keypairs/<name>", "/v2.1/os-keypairs/{keypair}", n("os-keypairs:show"),
      target={"user_id": "{own_user}"}, seen=belongs_to("member_user")),
    C("DELETE /v2.1/os-keypairs/<name>", "/v2.1/os-keypairs/{fresh}", n("os-keypairs:delete"),
      target={"user_id": "{own_user}"}, seen=belongs_to("member_user"), fresh="keypair",
      ok=(202,)),
    # Nova's image proxy (Glance's rules and visibility)
    C("GET /v2.1/images", "/v2.1/images", "get_images", policy_service="imaged"),
    C("GET /v2.1/images/detail", "/v2.1/images/detail", "get_images",
      policy_service="imaged"),
    glance(f"GET {IMAGE}", "/v2.1/images/{image}", "get_image"),
    glance(f"DELETE {IMAGE}", "/v2.1/images/{fresh}", "delete_image", fresh="image",
           ok=(204,)),
    glance(f"GET {IMAGE}/metadata", "/v2.1/images/{image}/metadata", "get_image"),
    glance(f"POST {IMAGE}/metadata", "/v2.1/images/{image}/metadata", "modify_image",
           json={"metadata": {"rm_nova": "a value"}}),
    glance(f"PUT {IMAGE}/metadata", "/v2.1/images/{fresh}/metadata", "modify_image",
           fresh="image", json={"metadata": {"rm_nova": "b"}}),
    glance(f"GET {IMAGE}/metadata/<key>", "/v2.1/images/{image}/metadata/rm_property",
           "get_image"),
    glance(f"PUT {IMAGE}/metadata/<key>", "/v2.1/images/{image}/metadata/rm_property",
           "modify_image", json={"meta": {"rm_property": "changed"}}),
    glance(f"DELETE {IMAGE}/metadata/<key>", "/v2.1/images/{fresh}/metadata/rm_property",
           "modify_image", fresh="image_with_property", ok=(204,)),
    # servers
    C("GET /v2.1/servers", "/v2.1/servers", n("servers:index")),
    C("GET /v2.1/servers/detail", "/v2.1/servers/detail", n("servers:detail")),
    C("POST /v2.1/servers", "/v2.1/servers", n("servers:create"), ok=(202,),
      json={"server": {"name": "{unique}", "imageRef": "{tiny_image}",
                       "flavorRef": "{doomed_flavor}", "networks": "none"}},
      headers={"X-OpenStack-Nova-API-Version": "2.37"},
      why="on a flavor no host can hold: the server goes to ERROR without a guest"),
    server(f"GET {SERVER}", ONE, "servers:show"),
    server(f"PUT {SERVER}", ONE, "servers:update", json={"server": {"name": "{unique}"}}),
    server(f"DELETE {SERVER}", FRESH, "servers:delete", fresh="doomed_server", ok=(204,)),
    # the server actions
    action("os-getConsoleOutput", "os-console-output", {"length": 5}, server=ONE, ok=(200,),
           why=""),
    action("os-getSerialConsole", "os-remote-consoles", {"type": "serial"}, server=ONE,
           ok=(200,), why=""),
    action("os-getVNCConsole", "os-remote-consoles", {"type": "novnc"}, server=ONE,
           ok=(400,), why=NO_GRAPHICS),
    action("os-getSPICEConsole", "os-remote-consoles", {"type": "spice-html5"}, server=ONE,
           ok=(400,), why=NO_GRAPHICS),
    action("os-getRDPConsole", "os-remote-consoles", {"type": "rdp-html5"}, server=ONE,
           ok=(400,), why="policy passed; RDP consoles are gone (removed from Nova too)"),
    action("os-stop", "servers:stop"),
    action("os-start", "servers:start"),
    action("reboot", "servers:reboot", {"type": "SOFT"}),
    action("pause", "os-pause-server:pause"),
    action("unpause", "os-pause-server:unpause"),
    action("suspend", "os-suspend-server:suspend"),
    action("resume", "os-suspend-server:resume"),
    action("createImage", "servers:create_image", {"name": "{unique}"}),
    action("createBackup", "os-create-backup",
           {"name": "{unique}", "backup_type": "daily", "rotation": 1}),
    action("rebuild", "servers:rebuild", {"imageRef": "{tiny_image}"}),
    action("resize", "servers:resize", {"flavorRef": "{flavor}"}),
    action("confirmResize", "servers:confirm_resize"),
    action("revertResize", "servers:revert_resize"),
    action("migrate", "os-migrate-server:migrate"),
    action("shelve", "os-shelve:shelve"),
    action("shelveOffload", "os-shelve:shelve_offload"),
    action("unshelve", "os-shelve:unshelve"),
    action("lock", "os-lock-server:lock", server="/v2.1/servers/{lock_server}", ok=(202,),
           why="a second lock changes nothing (an admin's takes it over)"),
    action("unlock", "os-lock-server:unlock", server="/v2.1/servers/{owner_locked_server}",
           ok=(202,), why="locked by its project's member; unlocked, it stays so"),
    C(f"POST {SERVER}/action", "/v2.1/servers/{admin_locked_server}/action",
      (n("os-lock-server:unlock"), n("os-lock-server:unlock:unlock_override")),
      target=ALPHA_TARGET, seen=ALPHA, json={"unlock": None}, ok=(202,),
      label="unlock an admin's lock"),
    server(f"GET {SERVER}/ips", ONE + "/ips", "ips:index"),
    server(f"GET {SERVER}/ips/<network_label>", ONE + "/ips/{network_name}", "ips:show"),
    server(f"GET {SERVER}/metadata", ONE + "/metadata", "server-metadata:index"),
    server(f"POST {SERVER}/metadata", ONE + "/metadata", "server-metadata:update",
           json={"metadata": {"rm_added": "yes"}}),
    server(f"PUT {SERVER}/metadata", ONE + "/metadata", "server-metadata:update",
           json={"metadata": {"rm": "a value"}}),
    server(f"GET {SERVER}/metadata/<key>", ONE + "/metadata/rm", "server-metadata:index"),
    server(f"PUT {SERVER}/metadata/<key>", ONE + "/metadata/rm", "server-metadata:update",
           json={"meta": {"rm": "b"}}),
    server(f"DELETE {SERVER}/metadata/<key>", FRESH + "/metadata/rm",
           "server-metadata:update", fresh="doomed_server_with_metadata", ok=(204,)),
    server(f"GET {SERVER}/os-instance-actions", ONE + "/os-instance-actions",
           "os-instance-actions:list"),
    server(f"GET {SERVER}/os-instance-actions/<request_id>",
           ONE + "/os-instance-actions/{instance_action}", "os-instance-actions:show"),
    server(f"GET {SERVER}/os-interface", ONE + "/os-interface", "os-attach-interfaces:list"),
    server(f"GET {SERVER}/os-interface/<port_id>", ONE + "/os-interface/{server_port}",
           "os-attach-interfaces:show"),
    server(f"POST {SERVER}/os-interface", ERRORED + "/os-interface",
           "os-attach-interfaces:create", json={"interfaceAttachment": {
               "net_id": "{network}"}}, ok=(409,), why=IN_ERROR),
    server(f"DELETE {SERVER}/os-interface/<port_id>",
           ERRORED + "/os-interface/{server_port}", "os-attach-interfaces:delete", ok=(409,),
           why=IN_ERROR),
    server(f"GET {SERVER}/os-volume_attachments", ONE + "/os-volume_attachments",
           "os-volumes-attachments:index"),
    server(f"GET {SERVER}/os-volume_attachments/<volume_id>",
           ONE + "/os-volume_attachments/{attached_volume}", "os-volumes-attachments:show"),
    server(f"POST {SERVER}/os-volume_attachments", ERRORED + "/os-volume_attachments",
           "os-volumes-attachments:create", json={"volumeAttachment": {
               "volumeId": "{volume}"}}, ok=(409,), why=IN_ERROR),
    server(f"DELETE {SERVER}/os-volume_attachments/<volume_id>",
           ONE + "/os-volume_attachments/{fresh}", "os-volumes-attachments:delete",
           fresh="attached_volume", ok=(202,)),
    server(f"POST {SERVER}/remote-consoles", ONE + "/remote-consoles", "os-remote-consoles",
           json={"remote_console": {"protocol": "serial", "type": "serial"}},
           headers={"X-OpenStack-Nova-API-Version": "2.6"}),
    # server tags (2.26)
    server(f"GET {SERVER}/tags", ONE + "/tags", "os-server-tags:index", headers=TAGS),
    server(f"GET {SERVER}/tags/<tag>", ONE + "/tags/rm-tag", "os-server-tags:show",
           headers=TAGS, ok=(204,)),
    server(f"PUT {SERVER}/tags/<tag>", ONE + "/tags/rm-tag", "os-server-tags:update",
           headers=TAGS, ok=(201, 204), why="204 when the tag is there already"),
    server(f"PUT {SERVER}/tags", ONE + "/tags", "os-server-tags:update_all", headers=TAGS,
           json={"tags": ["rm-tag"]}),
    server(f"DELETE {SERVER}/tags/<tag>", ONE + "/tags/{fresh}", "os-server-tags:delete",
           fresh="server_tag", headers=TAGS, ok=(204,)),
    server(f"DELETE {SERVER}/tags", ONE + "/tags", "os-server-tags:delete_all",
           headers=TAGS, ok=(204,)),
    C("GET /pocketstack/v1/events", "/pocketstack/v1/events", "events:list"),
]
