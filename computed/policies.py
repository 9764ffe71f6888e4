"""computed's policy rules, under Nova's names and with Nova's defaults (the
"new RBAC" ones): project members act on their project's servers, readers
look at them, admins manage flavors and see the hypervisor; a key pair
belongs to its user.

Targets: "project_id" is the server's project, "user_id" the key pair's
owner.
"""
from shared.policy import RuleDefault

ADMIN = "rule:admin_required"
MEMBER = "rule:admin_or_member"
READER = "rule:admin_or_reader"
ANYONE = "@"
OWNER = "rule:admin_required or user_id:%(user_id)s"
PROJECT_READER = "rule:admin_required or project_id:%(project_id)s"


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(f"os_compute_api:{name}", check, description)


RULES = [
    _rule("servers:index", READER, "List the project's servers."),
    _rule("servers:detail", READER, "List the project's servers with details."),
    _rule("servers:index:get_all_tenants", ADMIN, "List every project's servers "
          "(all_tenants)."),
    _rule("servers:show", READER, "Show a server."),
    _rule("servers:create", MEMBER, "Create a server."),
    _rule("servers:update", MEMBER, "Rename a server."),
    _rule("servers:delete", MEMBER, "Delete a server."),
    _rule("servers:start", MEMBER, "Start a stopped server."),
    _rule("servers:stop", MEMBER, "Stop a server."),
    _rule("servers:reboot", MEMBER, "Reboot a server."),
    _rule("servers:create_image", MEMBER, "Snapshot a server into a new image."),
    _rule("os-pause-server:pause", MEMBER, "Pause a server."),
    _rule("os-pause-server:unpause", MEMBER, "Unpause a server."),
    _rule("os-suspend-server:suspend", MEMBER, "Suspend a server."),
    _rule("os-suspend-server:resume", MEMBER, "Resume a suspended server."),
    _rule("os-console-output", MEMBER, "Read a server's serial console log."),
    _rule("os-extended-server-attributes", ADMIN, "See a server's host and libvirt "
          "domain name."),
    _rule("server-metadata:index", READER, "List a server's metadata."),
    _rule("server-metadata:update", MEMBER, "Change a server's metadata."),
    _rule("ips:index", READER, "List a server's addresses."),
    _rule("ips:show", READER, "List a server's addresses on one network."),
    _rule("os-attach-interfaces:list", READER, "List a server's interfaces (ports)."),
    _rule("os-attach-interfaces:show", READER, "Show one of a server's interfaces."),
    _rule("os-attach-interfaces:create", MEMBER, "Attach an interface (a port) to a "
          "server."),
    _rule("os-attach-interfaces:delete", MEMBER, "Detach an interface from a server."),
    _rule("os-volumes-attachments:index", READER, "List a server's volume attachments."),
    _rule("os-volumes-attachments:show", READER, "Show a volume attachment."),
    _rule("os-volumes-attachments:create", MEMBER, "Attach a volume to a server."),
    _rule("os-volumes-attachments:delete", MEMBER, "Detach a volume from a server."),
    _rule("os-keypairs:index", OWNER, "List the caller's key pairs."),
    _rule("os-keypairs:show", OWNER, "Show a key pair."),
    _rule("os-keypairs:create", OWNER, "Import or create a key pair."),
    _rule("os-keypairs:delete", OWNER, "Delete a key pair."),
    _rule("flavors:index", ANYONE, "List and show flavors."),
    _rule("os-flavor-manage:create", ADMIN, "Create a flavor."),
    _rule("os-flavor-manage:delete", ADMIN, "Delete a flavor."),
    _rule("os-flavor-extra-specs:index", READER, "Show a flavor's extra specs."),
    _rule("os-flavor-extra-specs:create", ADMIN, "Set a flavor's extra specs."),
    _rule("os-flavor-extra-specs:delete", ADMIN, "Remove a flavor's extra spec."),
    _rule("os-flavor-access", ADMIN, "List the projects that may use a private flavor."),
    _rule("os-flavor-access:add_tenant_access", ADMIN, "Let a project use a private "
          "flavor."),
    _rule("os-flavor-access:remove_tenant_access", ADMIN, "Stop a project using a private "
          "flavor."),
    _rule("os-server-external-events:create", "rule:service_or_admin",
          "Tell computed of an event under a server (volumed's volume-extended)."),
    _rule("os-hypervisors:list", ADMIN, "List the hypervisors."),
    _rule("os-hypervisors:show", ADMIN, "Show a hypervisor's capacity and usage."),
    _rule("os-hypervisors:statistics", ADMIN, "Show the capacity and usage of every "
          "hypervisor."),
    _rule("limits", ANYONE, "Show the project's limits and usage."),
    _rule("os-quota-sets:show", PROJECT_READER, "Show a project's quotas."),
    _rule("os-quota-sets:detail", PROJECT_READER, "Show a project's quotas and usage."),
    _rule("os-quota-sets:defaults", ANYONE, "Show the default quotas."),
    _rule("os-lock-server:lock", MEMBER, "Lock a server: only admins may then change it."),
    _rule("os-lock-server:unlock", MEMBER, "Unlock a server locked by its project."),
    _rule("os-lock-server:unlock:unlock_override", ADMIN, "Unlock a server an admin "
          "locked."),
    _rule("os-instance-actions:list", READER, "List what was done to a server."),
    _rule("os-instance-actions:show", READER, "Show one action done to a server."),
    _rule("os-instance-actions:events", ADMIN, "See the steps of an action (their times "
          "and results)."),
    _rule("os-simple-tenant-usage:show", PROJECT_READER, "Show what a project's servers "
          "used in a period."),
    _rule("os-simple-tenant-usage:list", ADMIN, "Show what every project's servers used "
          "in a period."),
    _rule("os-availability-zone:list", ANYONE, "List availability zones."),
    _rule("os-availability-zone:detail", ADMIN, "List availability zones with their hosts "
          "and services."),
    _rule("servers:rebuild", MEMBER, "Rebuild a server from an image."),
    _rule("servers:resize", MEMBER, "Resize a server to another flavor."),
    _rule("servers:confirm_resize", MEMBER, "Confirm a resize or migration."),
    _rule("servers:revert_resize", MEMBER, "Revert a resize or migration."),
    _rule("os-migrate-server:migrate", ADMIN, "Cold-migrate a server (here: to the "
          "same host)."),
    _rule("os-migrations:index", ADMIN, "List the resizes and migrations."),
    _rule("os-shelve:shelve", MEMBER, "Shelve a server: its root disk kept as an image."),
    _rule("os-shelve:shelve_offload", ADMIN, "Offload a shelved server from its host."),
    _rule("os-shelve:unshelve", MEMBER, "Unshelve a server."),
    _rule("os-create-backup", MEMBER, "Back a server up into an image of a rotation."),
    _rule("os-remote-consoles", MEMBER, "Open a server's remote console (a URL with a "
          "token)."),
    _rule("servers:show:host_status", ADMIN, "See host_status in a server (2.16)."),
    _rule("os-server-tags:index", READER, "List a server's tags (2.26)."),
    _rule("os-server-tags:show", READER, "Check that a server has a tag."),
    _rule("os-server-tags:update", MEMBER, "Add a tag to a server."),
    _rule("os-server-tags:update_all", MEMBER, "Replace a server's tags."),
    _rule("os-server-tags:delete", MEMBER, "Remove a tag from a server."),
    _rule("os-server-tags:delete_all", MEMBER, "Remove every tag of a server."),
]
