"""computed's tables.

flavors, flavor_extra_specs, flavor_projects   sizes, and who may use a private one
key_pairs                                      public keys, per user
instances                                      servers (kept after delete, deleted=True)
block_device_mappings                          the volumes of each server
block_device_image_sources                     the image and size of a volume the
                                               build makes from an image
instance_network_requests                      the networks and security groups a
                                               server was created with (for its build)
virtual_interfaces                             the ports of each server, and whether
                                               computed made them (then it deletes them)
compute_nodes                                  this host, with a stable id
instance_device_names                          the names the server's local disks got
                                               (Nova keeps them on the instance)
instance_id_mappings, s3_images                the integer ids behind EC2's i-%08x and
                                               ami-%08x (the metadata service's)
migrations                                     resizes and cold migrations, with both flavors
instance_shelved                               a shelved server's image
console_auth_tokens                            remote console tokens (hashed, expiring)
instance_descriptions, instance_tags           a server's description (2.19) and tags (2.26)

An instance keeps a copy of its flavor (as Nova's instance.flavor does):
deleting or changing a flavor never changes the servers made from it.
No secret is stored here: the CHAP password of a volume attachment goes
from volumed straight into a libvirt secret. Ports and their addresses live
in networkd: what is kept here is which ports a server has, not what they
are.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Flavor(Base):
    __tablename__ = "flavors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    projects: Mapped[list[FlavorProject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")

    def specs(self) -> dict[str, str]:
        return {spec.key: spec.value for spec in self.extra_specs}


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_specs"
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    __tablename__ = "flavor_projects"
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class KeyPair(Base):
    __tablename__ = "key_pairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(10), default="ssh")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_key_pairs_user_name"),)


class Instance(Base):
    __tablename__ = "instances"
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    hostname: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    image_ref: Mapped[str] = mapped_column(String(36))
    flavor: Mapped[dict] = mapped_column(JSON)  # the flavor as it was at boot
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer)
    swap: Mapped[int] = mapped_column(Integer)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)  # base64, as sent
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    domain_name: Mapped[str] = mapped_column(String(255))
    claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    reservation_id: Mapped[str] = mapped_column(String(64))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    fault: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    block_devices: Mapped[list[BlockDeviceMapping]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="BlockDeviceMapping.id")
    network_request: Mapped[InstanceNetworkRequest | None] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    vifs: Mapped[list[VirtualInterface]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="VirtualInterface.id")

    __table_args__ = (
        Index("ix_instances_project_deleted", "project_id", "deleted", "created_at"),
        Index("ix_instances_claimed", "claimed"),
    )

    @property
    def volumes(self) -> list[BlockDeviceMapping]:
        return [bdm for bdm in self.block_devices if bdm.destination_type == "volume"]


class BlockDeviceMapping(Base):
    """One volume of a server. status: attaching (being connected), attached,
    detaching; the row goes away once the volume is detached."""
    __tablename__ = "block_device_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True)
    source_type: Mapped[str] = mapped_column(String(32), default="volume")
    destination_type: Mapped[str] = mapped_column(String(32), default="volume")
    volume_id: Mapped[str | None] = mapped_column(String(36), index=True)
    boot_index: Mapped[int | None] = mapped_column(Integer)
    device_name: Mapped[str | None] = mapped_column(String(32))
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    attachment_id: Mapped[str | None] = mapped_column(String(36))
    secret_uuid: Mapped[str | None] = mapped_column(String(36))
    # connection_info without its CHAP password: enough to rebuild the disk XML.
    connection: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="attaching")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InstanceNetworkRequest(Base):
    """What the API resolved of a server's `networks` and `security_groups`:
    a list of {network_id, port_id, fixed_ip, tag} (the network chosen when
    none was named already in it) and the security groups' ids (empty: the
    project's default group, which networkd applies itself)."""
    __tablename__ = "instance_network_requests"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True)
    networks: Mapped[list] = mapped_column(JSON, default=list)
    security_groups: Mapped[list] = mapped_column(JSON, default=list)
    security_group_names: Mapped[list] = mapped_column(JSON, default=list)  # as asked


class VirtualInterface(Base):
    """One port of a server (Nova's virtual_interfaces). `created`: computed
    made the port (it deletes it when the server goes); otherwise the user
    passed it (it is only unbound). status: attaching, attached, detaching."""
    __tablename__ = "virtual_interfaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True)
    port_id: Mapped[str] = mapped_column(String(36), index=True)
    network_id: Mapped[str] = mapped_column(String(36))
    mac_address: Mapped[str] = mapped_column(String(32))
    created: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16), default="attaching")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ComputeNode(Base):
    """This host. Its uuid marks PocketStack's domains in libvirt (domain
    metadata), so that reconcile never touches a domain of anyone else."""
    __tablename__ = "compute_nodes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InstanceDeviceNames(Base):
    """The guest's names of a server's local disks, as its build chose them
    (vda or sda or hda..., after the image's hw_disk_bus): Nova's
    root_device_name, default_ephemeral_device and default_swap_device.
    The metadata service's block-device-mapping reads them. A table of its
    own, so that a database made before it existed gets it too (create_all
    adds missing tables, never missing columns)."""
    __tablename__ = "instance_device_names"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True)
    root_device_name: Mapped[str] = mapped_column(String(255))
    default_ephemeral_device: Mapped[str | None] = mapped_column(String(255))
    default_swap_device: Mapped[str | None] = mapped_column(String(255))


class InstanceIdMapping(Base):
    """A small integer for each server, given at first need and kept: EC2's
    instance-id is i-%08x of it (Nova's instance_id_mappings)."""
    __tablename__ = "instance_id_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class S3Image(Base):
    """The same for images: EC2's ami-id is ami-%08x of it (Nova's s3_images,
    named after the S3 image store of Nova's early EC2 API)."""
    __tablename__ = "s3_images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InstanceLock(Base):
    """A locked server (Nova's instances.locked and locked_by, kept in a
    table of their own so that older databases get them from create_all):
    while the row exists, only admins may change the server's state."""
    __tablename__ = "instance_locks"
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    locked_by: Mapped[str] = mapped_column(String(16))      # "owner" or "admin"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InstanceShelved(Base):
    """A shelved server's image (Nova keeps shelved_at, shelved_image_id and
    shelved_host in system_metadata): unshelve boots from it, and deleting the
    shelved server deletes it. The row goes once the server is unshelved."""
    __tablename__ = "instance_shelved"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[str] = mapped_column(String(36))
    shelved_host: Mapped[str] = mapped_column(String(255))
    shelved_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ConsoleAuthToken(Base):
    """A remote console's token (Nova's console_auth_tokens): only its
    SHA-256 is kept, it expires, and it opens one server's console."""
    __tablename__ = "console_auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    console_type: Mapped[str] = mapped_column(String(32))
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    access_url_base: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class BlockDeviceImageSource(Base):
    """A volume the build makes from an image (block_device_mapping_v2's
    source_type image, destination_type volume), as Nova's compute makes it:
    the image and the size asked for. The mapping's volume_id is set once
    volumed has made the volume. A table of its own, so that older databases
    get it from create_all."""
    __tablename__ = "block_device_image_sources"
    bdm_id: Mapped[int] = mapped_column(
        ForeignKey("block_device_mappings.id", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[str] = mapped_column(String(36))
    volume_size: Mapped[int] = mapped_column(Integer)


class Migration(Base):
    """A resize or cold migration of a server (Nova's migrations), from its
    request to its confirm or revert; os-migrations lists them.

    status: pre-migrating -> migrating -> post-migrating -> finished, then
    confirming -> confirmed or reverting -> reverted; error if it failed.
    The flavors are copies, as the instance keeps its own (Nova's
    instance.old_flavor/new_flavor). `held` is what the move claims on the
    host beyond the instance's own flavor (the flavor the server does not
    have right now, until confirm or revert frees it); None once nothing."""
    __tablename__ = "migrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    migration_type: Mapped[str] = mapped_column(String(16))      # resize or migration
    status: Mapped[str] = mapped_column(String(32), index=True)
    source_compute: Mapped[str] = mapped_column(String(255))
    source_node: Mapped[str] = mapped_column(String(255))
    dest_compute: Mapped[str] = mapped_column(String(255))
    dest_node: Mapped[str] = mapped_column(String(255))
    dest_host: Mapped[str] = mapped_column(String(255))           # the host's IP
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    old_flavor: Mapped[dict] = mapped_column(JSON)
    new_flavor: Mapped[dict] = mapped_column(JSON)
    old_vm_state: Mapped[str] = mapped_column(String(32))       # active or stopped
    held: Mapped[dict | None] = mapped_column(JSON)             # {vcpus, memory_mb, disk_gb}
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class InstanceDescription(Base):
    """A server's description (Nova's instances.display_description, shown
    from microversion 2.19). Nova sets it to the name when a request older
    than 2.19 creates the server, to what was asked (or null) from 2.19. A
    table of its own, so that older databases get it from create_all; a
    server without a row has the null description."""
    __tablename__ = "instance_descriptions"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)


class InstanceTag(Base):
    """A server's tags (Nova's tags table, microversion 2.26): simple
    strings, at most 50 per server."""
    __tablename__ = "instance_tags"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)
