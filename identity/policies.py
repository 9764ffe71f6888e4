"""identity's policy defaults (Keystone's, simplified to one domain)."""
from shared.policy import RuleDefault


def _admin(name: str, description: str) -> RuleDefault:
    return RuleDefault(f"identity:{name}", "rule:admin_required", description)


RULES = [
    RuleDefault("identity:validate_token", "rule:service_or_admin or user_id:%(token.user_id)s",
                "Validate a token: admins, services, or the token's own user."),
    RuleDefault("identity:revoke_token", "rule:service_or_admin or user_id:%(token.user_id)s",
                "Revoke a token: admins, services, or the token's own user."),
    RuleDefault("identity:list_revoke_events", "rule:service_or_admin",
                "Read the revocation events (services do, to refuse revoked tokens)."),
    RuleDefault("identity:get_project",
                "rule:admin_required or project_id:%(target.project.id)s",
                "Show a project: admins, or users scoped to it."),
    RuleDefault("identity:get_user", "rule:admin_required or user_id:%(target.user.id)s",
                "Show a user: admins, or the user itself."),
    _admin("list_projects", "List projects."),
    _admin("create_project", "Create a project."),
    _admin("update_project", "Update a project."),
    _admin("delete_project", "Delete a project."),
    _admin("list_users", "List users."),
    _admin("create_user", "Create a user."),
    _admin("update_user", "Update a user."),
    _admin("delete_user", "Delete a user."),
    _admin("list_user_projects", "List another user's projects."),
    _admin("list_roles", "List roles."),
    _admin("get_role", "Show a role."),
    _admin("create_role", "Create a role."),
    _admin("delete_role", "Delete a role."),
    _admin("create_grant", "Give a user a role on a project."),
    _admin("check_grant", "Check a user's role on a project."),
    _admin("revoke_grant", "Take a role on a project away from a user."),
    _admin("list_grants", "List a user's roles on a project."),
    _admin("list_role_assignments", "List role assignments."),
    _admin("list_services", "List the catalog's services."),
    _admin("list_endpoints", "List the catalog's endpoints."),
]
