"""One request's work: its transaction, the caller's policy view, the
settings and the notifier. Every resource function takes a Call, so a
request is one transaction whatever it touches (nothing half-written), and
the same functions serve the API, the first-start seed and the tests."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from networkd.access import Access
from networkd.settings import Settings
from shared.events import Notifier


@dataclass(frozen=True)
class Call:
    session: Session
    access: Access
    settings: Settings
    notifier: Notifier

    @property
    def project_id(self) -> str | None:
        return self.access.project_id

    @property
    def is_admin(self) -> bool:
        return self.access.is_admin

    def notify(self, event_type: str, resource_type: str, resource_id: str,
               project_id: str | None, payload: dict[str, Any]) -> None:
        """An event in the same transaction as the change
        ("network.create.end", Neutron's notification names)."""
        self.notifier.notify(self.access.ctx, event_type, resource_type=resource_type,
                             resource_id=resource_id, project_id=project_id,
                             payload=payload, session=self.session)
