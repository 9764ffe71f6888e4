"""Managing volume types (admins): each one short transaction, no slow work.

Every type lives on the same backend; a type is a label (and extra_specs).
The default type always exists and cannot be deleted, nor can a type that
volumes still use."""
from __future__ import annotations

from shared.db import transaction
from shared.errors import BadRequest, Conflict
from volumed import repo
from volumed.flows import Deps
from volumed.models import VolumeType


def create_type(deps: Deps, name: str, description: str | None, is_public: bool,
                extra_specs: dict[str, str]) -> VolumeType:
    """409 if a type of that name exists."""
    with transaction(deps.sessions) as session:
        if any(t.name == name for t in repo.list_types(session)):
            raise Conflict(f"Volume Type {name} already exists.")
        created = VolumeType(id=repo.new_id(), name=name, description=description,
                             is_public=is_public, extra_specs=extra_specs)
        session.add(created)
        return created


def update_type(deps: Deps, type_id: str, changes: dict) -> VolumeType:
    """Set any of name, description, is_public; 409 if another type has the
    new name."""
    with transaction(deps.sessions) as session:
        found = repo.get_type(session, type_id)
        name = changes.get("name", found.name)
        if any(t.name == name and t.id != found.id for t in repo.list_types(session)):
            raise Conflict(f"Volume Type {name} already exists.")
        for key in ("name", "description", "is_public"):
            if key in changes:
                setattr(found, key, changes[key])
        return found


def delete_type(deps: Deps, type_id: str) -> None:
    """400 for the default type and for a type in use."""
    with transaction(deps.sessions) as session:
        found = repo.get_type(session, type_id)
        if found.name == deps.settings.default_type:
            raise BadRequest("Invalid volume type: the default volume type cannot be "
                             "deleted.")
        in_use = repo.count_volumes_of_type(session, found.id)
        if in_use:
            raise BadRequest(f"Invalid volume type: {in_use} volume(s) still use it.")
        session.delete(found)


def add_extra_specs(deps: Deps, type_id: str, specs: dict[str, str]) -> dict[str, str]:
    """Merge `specs` into the type's extra_specs; returns them all."""
    with transaction(deps.sessions) as session:
        found = repo.get_type(session, type_id)
        found.extra_specs = {**(found.extra_specs or {}), **specs}
        return dict(found.extra_specs)
