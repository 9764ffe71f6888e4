"""The metadefs tables. Property and object schemas are JSON documents
(type, enum, minimum, ...), stored as they are given."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class MetadefBase(DeclarativeBase):
    pass


class Namespace(MetadefBase):
    __tablename__ = "metadef_namespaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    objects: Mapped[list[MetadefObject]] = relationship(
        cascade="all, delete-orphan", order_by="MetadefObject.name")
    properties: Mapped[list[MetadefProperty]] = relationship(
        cascade="all, delete-orphan", order_by="MetadefProperty.name")
    tags: Mapped[list[MetadefTag]] = relationship(
        cascade="all, delete-orphan", order_by="MetadefTag.name")
    associations: Mapped[list[ResourceTypeAssociation]] = relationship(
        cascade="all, delete-orphan")


class _NamespaceChild:
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class MetadefObject(_NamespaceChild, MetadefBase):
    __tablename__ = "metadef_objects"
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id",
                                                         ondelete="CASCADE"))
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[list] = mapped_column(JSON, default=list)
    schema: Mapped[dict] = mapped_column(JSON, default=dict)  # properties by name
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class MetadefProperty(_NamespaceChild, MetadefBase):
    __tablename__ = "metadef_properties"
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id",
                                                         ondelete="CASCADE"))
    schema: Mapped[dict] = mapped_column(JSON, default=dict)  # type, title, enum...
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class MetadefTag(_NamespaceChild, MetadefBase):
    __tablename__ = "metadef_tags"
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id",
                                                         ondelete="CASCADE"))
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)


class ResourceType(MetadefBase):
    __tablename__ = "metadef_resource_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ResourceTypeAssociation(MetadefBase):
    __tablename__ = "metadef_namespace_resource_types"
    namespace_id: Mapped[int] = mapped_column(ForeignKey("metadef_namespaces.id",
                                                         ondelete="CASCADE"), primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(ForeignKey("metadef_resource_types.id",
                                                             ondelete="CASCADE"),
                                                  primary_key=True)
    prefix: Mapped[str | None] = mapped_column(String(80))
    properties_target: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    resource_type: Mapped[ResourceType] = relationship(lazy="joined")


class SeedRecord(MetadefBase):
    """Which definition files were loaded, so that a standard namespace an
    admin deleted on purpose does not come back at the next start."""
    __tablename__ = "metadef_seed_records"
    file_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
