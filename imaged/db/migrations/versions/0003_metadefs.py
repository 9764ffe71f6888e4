"""Metadata definitions: namespaces, their objects, properties, tags and
resource type associations, and which definition files were loaded.

Revision ID: 0003_metadefs
Revises: 0002 (tasks)
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_metadefs"
down_revision = "0002"
branch_labels = None
depends_on = None


def _times():
    return [sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False)]


def _namespace_child(name: str, *columns):
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace_id", sa.Integer,
                  sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        *columns, *_times(),
        sa.UniqueConstraint("namespace_id", "name"),
    )


def upgrade() -> None:
    op.create_table(
        "metadef_namespaces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(80), nullable=False, unique=True),
        sa.Column("display_name", sa.String(80)),
        sa.Column("description", sa.Text),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255)),
        *_times(),
    )
    _namespace_child("metadef_objects", sa.Column("description", sa.Text),
                     sa.Column("required", sa.JSON), sa.Column("schema", sa.JSON))
    _namespace_child("metadef_properties", sa.Column("schema", sa.JSON))
    _namespace_child("metadef_tags")
    op.create_table(
        "metadef_resource_types",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("protected", sa.Boolean, nullable=False),
        *_times(),
    )
    op.create_table(
        "metadef_namespace_resource_types",
        sa.Column("namespace_id", sa.Integer,
                  sa.ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("resource_type_id", sa.Integer,
                  sa.ForeignKey("metadef_resource_types.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("prefix", sa.String(80)),
        sa.Column("properties_target", sa.String(80)),
        *_times(),
    )
    op.create_table(
        "metadef_seed_records",
        sa.Column("file_name", sa.String(255), primary_key=True),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("metadef_seed_records", "metadef_namespace_resource_types",
                  "metadef_resource_types", "metadef_tags", "metadef_properties",
                  "metadef_objects", "metadef_namespaces"):
        op.drop_table(table)
