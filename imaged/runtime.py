"""Everything one imaged process works with, built once from its config:
the repository, the stores, the policy and the rules' settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imaged.db.repository import ImageRepository
from imaged.db.sql import SqlImageRepository
from imaged.domain.formats import FormatRules
from imaged.domain.image import Caller, Image
from imaged.domain.quotas import Quotas
from imaged.domain.rules import ImageLimits
from imaged.protections import NoProtections, PropertyProtections
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
    protections: PropertyProtections | NoProtections = field(default_factory=NoProtections)

    @property
    def conf(self):
        return self.service.conf

    @classmethod
    def build(cls, service: Service) -> Imaged:
        conf = service.conf
        return cls(
            service=service,
            repo=open_repository(conf, service.sessions, service.notifier),
            stores=Stores.from_config(conf, service.state.lib),
            formats=FormatRules(tuple(conf.image.disk_formats),
                                tuple(conf.image.container_formats)),
            limits=ImageLimits(members=conf.image.image_member_quota,
                               properties=conf.image.image_property_quota,
                               tags=conf.image.image_tag_quota,
                               locations=conf.image.image_location_quota),
            quotas=Quotas(image_count_total=conf.quota.image_count_total,
                          image_size_total=conf.quota.image_size_total,
                          image_size_cap=conf.image.image_size_cap),
            protections=load_protections(conf, service.state.etc))

    def authorize(self, rule: str, context: RequestContext, image: Image | None = None,
                  **extra) -> None:
        """403 unless the policy rule allows the caller on this image."""
        target = {"project_id": image.owner if image else context.project_id,
                  "owner": image.owner if image else context.project_id,
                  "visibility": image.visibility if image else None, **extra}
        self.service.policy.authorize(rule, target, context)


def load_protections(conf, etc_dir: Path) -> PropertyProtections | NoProtections:
    """The property protection rules named in imaged-api.conf (raises
    ProtectionsFileError for a file that cannot be used)."""
    name = conf.image.property_protection_file
    if not name:
        return NoProtections()
    path = Path(name) if Path(name).is_absolute() else etc_dir / name
    return PropertyProtections.from_file(path)


def open_repository(conf, sessions, notifier) -> ImageRepository:
    """The image metadata: in imaged's own database, or behind
    imaged-registry when imaged-api.conf says data_api = registry."""
    if conf.data.data_api == "registry":
        from imaged.registry.client import RegistryImageRepository
        from shared.clients import ServiceSession
        return RegistryImageRepository(conf.data.registry_url, ServiceSession.from_config(conf))
    return SqlImageRepository(sessions, notifier)


def caller_of(context: RequestContext) -> Caller:
    return Caller(project_id=context.project_id, is_admin=context.is_admin,
                  roles=tuple(context.roles))
