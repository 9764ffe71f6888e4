"""Changing a project's quota limits (admins): one short transaction that
refuses a limit below what the project already uses."""
from __future__ import annotations

from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.flows import Deps


def set_limits(deps: Deps, project_id: str, wanted: dict[str, int]) -> dict[str, int]:
    """Set each resource's limit (-1: none); returns every limit of the
    project as it now is. 400, and nothing changed, if a limit is below the
    current usage."""
    with transaction(deps.sessions) as session:
        usage = repo.usage(session, project_id)
        for key, number in wanted.items():
            if number != -1 and number < usage[key]:
                raise BadRequest(f"Invalid input received: Quota limit {number} for "
                                 f"{key} must be equal or greater than existing "
                                 f"resources. Current usage is {usage[key]}.")
            repo.set_limit(session, project_id, key, number)
        return repo.limits(session, project_id, deps.settings.quota_defaults)


def clear_limits(deps: Deps, project_id: str) -> None:
    """Back to the defaults."""
    with transaction(deps.sessions) as session:
        repo.clear_limits(session, project_id)
