"""Everything one imaged process works with, built once from its config:
the repository, the stores, the policy and the rules' settings."""
from __future__ import annotations

from dataclasses import dataclass

from imaged.db.repository import ImageRepository
from imaged.db.sql import SqlImageRepository
from imaged.domain.formats import FormatRules
from imaged.domain.image import Caller, Image
from imaged.domain.quotas import Quotas
from imaged.domain.rules import ImageLimits
from imaged.store import Stores
from shared.context import RequestContext
from shared.service import Service


@dataclass
class Imaged:
    service: Service
    repo: ImageRepository
    stores: Stores
    formats: FormatRules
    limits: ImageLimits
    quotas: Quotas

    @property
    def conf(self):
        return self.service.conf

    @classmethod
    def build(cls, service: Service) -> "Imaged":
        conf = service.conf
        return cls(
            service=service,
            repo=SqlImageRepository(service.sessions, service.notifier),
            stores=Stores.from_config(conf, service.state.lib),
            formats=FormatRules(tuple(conf.image.disk_formats),
                                tuple(conf.image.container_formats)),
            limits=ImageLimits(members=conf.image.image_member_quota,
                               properties=conf.image.image_property_quota,
                               tags=conf.image.image_tag_quota,
                               locations=conf.image.image_location_quota),
            quotas=Quotas(image_count_total=conf.quota.image_count_total,
                          image_size_total=conf.quota.image_size_total,
                          image_size_cap=conf.image.image_size_cap))

    def authorize(self, rule: str, context: RequestContext, image: Image | None = None,
                  **extra) -> None:
        """403 unless the policy rule allows the caller on this image."""
        target = {"project_id": image.owner if image else context.project_id,
                  "owner": image.owner if image else context.project_id,
                  "visibility": image.visibility if image else None, **extra}
        self.service.policy.authorize(rule, target, context)


def caller_of(context: RequestContext) -> Caller:
    return Caller(project_id=context.project_id, is_admin=context.is_admin,
                  roles=tuple(context.roles))
