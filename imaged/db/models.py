"""imaged's tables (the Alembic migrations in migrations/versions create them).

images            one row per image, core attributes as columns
image_properties  extra properties (name -> string value)
image_tags        tags
image_members     projects an image is shared with, and their answer
image_locations   where the data is (file:// or http(s):// URLs), in order

Deleted images keep their row (status deleted or pending_delete, deleted_at
set), as in Glance: the scrubber needs pending_delete rows, and an id is
never reused. The indexes serve the list query: visibility and owner
filters, newest-first order with id as the tie-breaker, and the member and
tag lookups.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ImageRow(Base):
    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(20))
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_images_created_id", "created_at", "id"),
        Index("ix_images_owner_created", "owner", "created_at", "id"),
        Index("ix_images_visibility_created", "visibility", "created_at", "id"),
        Index("ix_images_status", "status"),
        Index("ix_images_name", "name"),
        Index("ix_images_updated_at", "updated_at"),
    )


class PropertyRow(Base):
    __tablename__ = "image_properties"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_image_properties_name_value", "name", "value"),)


class TagRow(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_image_tags_value", "value"),)


class MemberRow(Base):
    __tablename__ = "image_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    member: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("image_id", "member", name="uq_image_members_image_member"),
        Index("ix_image_members_member_status", "member", "status", "image_id"),
    )


class LocationRow(Base):
    __tablename__ = "image_locations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
