"""volumed's policy defaults, in Cinder's spirit: members of a project manage
its volumes, readers look at them, admins do the rest (any project, reset a
status, force a delete, manage types and quotas)."""
from shared.policy import RuleDefault


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(f"volume:{name}", check, description)


MEMBER, READER, ADMIN = "rule:admin_or_member", "rule:admin_or_reader", "rule:admin_required"

RULES = [
    _rule("get", READER, "Show a volume."),
    _rule("get_all", READER, "List volumes."),
    _rule("get_all_tenants", ADMIN, "List the volumes of every project (all_tenants=1)."),
    _rule("create", MEMBER, "Create a volume."),
    _rule("update", MEMBER, "Update a volume's name, description or metadata."),
    _rule("delete", MEMBER, "Delete a volume."),
    _rule("force_delete", ADMIN, "Delete a volume whatever its status (os-force_delete)."),
    _rule("reset_status", ADMIN, "Set a volume's or snapshot's status (os-reset_status)."),
    _rule("extend", MEMBER, "Extend a volume (os-extend)."),
    _rule("revert_to_snapshot", MEMBER, "Revert a volume to its latest snapshot "
                                        "(revert, 3.40)."),
    _rule("upload_to_image", MEMBER, "Upload a volume to a new image."),
    _rule("attach", MEMBER, "Reserve, connect, attach, detach a volume (attachments "
                            "API and the older actions)."),
    _rule("get_snapshot", READER, "Show or list snapshots."),
    _rule("create_snapshot", MEMBER, "Create a snapshot."),
    _rule("update_snapshot", MEMBER, "Update a snapshot."),
    _rule("delete_snapshot", MEMBER, "Delete a snapshot."),
    _rule("get_type", "@", "Show or list volume types."),
    _rule("manage_types", ADMIN, "Create, update and delete volume types."),
    _rule("show_quotas", READER, "Show a project's quotas and limits."),
    _rule("update_quotas", ADMIN, "Change a project's quotas."),
    _rule("update_readonly_flag", MEMBER, "Set or clear a volume's read-only flag "
                                          "(os-update_readonly_flag)."),
    # Backups, under Cinder's own names (cinder/policies/backups.py,
    # backup_actions.py).
    RuleDefault("backup:get_all", READER, "List backups."),
    RuleDefault("backup:get", READER, "Show a backup."),
    RuleDefault("backup:create", MEMBER, "Create a backup."),
    RuleDefault("backup:update", MEMBER, "Update a backup's name, description or "
                                         "metadata."),
    RuleDefault("backup:delete", MEMBER, "Delete a backup."),
    RuleDefault("backup:restore", MEMBER, "Restore a backup into a volume."),
    RuleDefault("backup:backup_project_attribute", ADMIN, "See a backup's project "
                                                          "(os-backup-project-attr)."),
    RuleDefault("volume_extension:backup_admin_actions:reset_status", ADMIN,
                "Set a backup's status."),
    RuleDefault("volume_extension:backup_admin_actions:force_delete", ADMIN,
                "Delete a backup whatever its status."),
]
