"""Who is asking: the request context built from a validated token."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestContext:
    request_id: str
    # The id of the user action this request is part of, sent by the service
    # that called us (X-OpenStack-Request-ID; see shared.request_ids).
    global_request_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    roles: list[str] = field(default_factory=list)
    auth_token: str | None = None
    # Set when another PocketStack service calls on behalf of this user and
    # sends its own token in X-Service-Token (as Nova does when it calls Glance).
    service_user_name: str | None = None
    service_roles: list[str] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_service(self) -> bool:
        return "service" in self.roles or "service" in self.service_roles

    def policy_credentials(self) -> dict:
        """The caller, as oslo.policy rules see it (role:..., project_id:...)."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
            "service_roles": list(self.service_roles),
            "is_admin": self.is_admin,
        }
