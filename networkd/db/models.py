"""networkd's tables: every resource of the Neutron subset.

    networks                      name, project, shared, router:external, mtu, port security
    subnets                       IPv4 CIDR, gateway, enable_dhcp
      subnet_allocation_pools     the ranges IPAM allocates from (first..last, inclusive)
      subnet_dns_nameservers      in the order given
      subnet_routes               host routes (destination, nexthop)
    ports                         MAC, device, binding:*, port security, status
      ip_allocations              the fixed IPs (one row per address; unique per subnet)
      port_security_groups        which groups a port is in
    security_groups, security_group_rules, default_security_groups (one per project)
    routers                       with the gateway port and enable_snat
      router_ports                the router's interfaces and gateway (port_type)
      router_routes               extra routes
    floating_ips                  on an external network, maybe associated to a port
    quotas                        a project's own limits (absent: networkd.conf [quota])
    tags                          (resource type, id, tag)
    seed_steps                    what the first start made (done once)

Every resource carries Neutron's standard attributes (description,
created_at, updated_at, revision_number: the `Standard` mixin). Child rows
go with their parent (ON DELETE CASCADE, and the ORM cascades the same).
Nothing here decides anything: the rules are in networkd's resource
modules, which run each request as one transaction.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.events import utcnow

ID = String(36)
PROJECT = String(64)


class Base(DeclarativeBase):
    pass


class Standard:
    """Neutron's standard attributes, on every top-level resource."""
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow,
                                                    onupdate=utcnow)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


# --- networks and subnets ---------------------------------------------------------------
class Network(Standard, Base):
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)   # router:external
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    subnets: Mapped[list[Subnet]] = relationship(
        back_populates="network", cascade="all, delete-orphan", order_by="Subnet.created_at",
        lazy="selectin")


class Subnet(Standard, Base):
    __tablename__ = "subnets"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    network: Mapped[Network] = relationship(back_populates="subnets")
    allocation_pools: Mapped[list[AllocationPool]] = relationship(
        cascade="all, delete-orphan", order_by="AllocationPool.id", lazy="selectin")
    dns_nameservers: Mapped[list[DnsNameServer]] = relationship(
        cascade="all, delete-orphan", order_by="DnsNameServer.order", lazy="selectin")
    host_routes: Mapped[list[SubnetRoute]] = relationship(
        cascade="all, delete-orphan", order_by="SubnetRoute.id", lazy="selectin")


class AllocationPool(Base):
    __tablename__ = "subnet_allocation_pools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"),
                                           index=True)
    first_ip: Mapped[str] = mapped_column(String(64))
    last_ip: Mapped[str] = mapped_column(String(64))


class DnsNameServer(Base):
    __tablename__ = "subnet_dns_nameservers"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"),
                                           primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    order: Mapped[int] = mapped_column(Integer, default=0)


class SubnetRoute(Base):
    __tablename__ = "subnet_routes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"),
                                           index=True)
    destination: Mapped[str] = mapped_column(String(64))
    nexthop: Mapped[str] = mapped_column(String(64))


# --- ports ------------------------------------------------------------------------------
class Port(Standard, Base):
    __tablename__ = "ports"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32), unique=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="", index=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict] = mapped_column(JSON, default=dict)
    binding_vif_details: Mapped[dict] = mapped_column(JSON, default=dict)
    fixed_ips: Mapped[list[IPAllocation]] = relationship(
        cascade="all, delete-orphan", order_by="IPAllocation.position", lazy="selectin")
    security_groups: Mapped[list[PortSecurityGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")


class IPAllocation(Base):
    """One fixed IP of a port. The primary key makes an address taken at
    most once per subnet, whatever races the code above might have."""
    __tablename__ = "ip_allocations"
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"),
                                           primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                         index=True)
    network_id: Mapped[str] = mapped_column(ID, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)   # order the port shows


class PortSecurityGroup(Base):
    __tablename__ = "port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                         primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), primary_key=True, index=True)


# --- security groups --------------------------------------------------------------------
class SecurityGroup(Standard, Base):
    __tablename__ = "security_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    rules: Mapped[list[SecurityGroupRule]] = relationship(
        cascade="all, delete-orphan", foreign_keys="SecurityGroupRule.security_group_id",
        order_by="SecurityGroupRule.created_at", lazy="selectin")


class SecurityGroupRule(Standard, Base):
    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))            # ingress | egress
    ethertype: Mapped[str] = mapped_column(String(8), default="IPv4")
    protocol: Mapped[str | None] = mapped_column(String(40))      # None: any
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    remote_address_group_id: Mapped[str | None] = mapped_column(ID)


class DefaultSecurityGroup(Base):
    """Which group is a project's `default` (made at its first need, once)."""
    __tablename__ = "default_security_groups"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), unique=True)


# --- routers and floating IPs -----------------------------------------------------------
class Router(Standard, Base):
    __tablename__ = "routers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # The gateway: its port (device_owner network:router_gateway) on an
    # external network; None when the router has no gateway.
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id"))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    ports: Mapped[list[RouterPort]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    routes: Mapped[list[RouterRoute]] = relationship(
        cascade="all, delete-orphan", order_by="RouterRoute.id", lazy="selectin")


class RouterPort(Base):
    """A port of a router: port_type network:router_interface or
    network:router_gateway (as Neutron's routerports table)."""
    __tablename__ = "router_ports"
    router_id: Mapped[str] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"),
                                           primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                         primary_key=True, unique=True)
    port_type: Mapped[str] = mapped_column(String(255))


class RouterRoute(Base):
    __tablename__ = "router_routes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    router_id: Mapped[str] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"),
                                           index=True)
    destination: Mapped[str] = mapped_column(String(64))
    nexthop: Mapped[str] = mapped_column(String(64))


class FloatingIP(Standard, Base):
    __tablename__ = "floating_ips"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    # The port holding the address on the external network
    # (device_owner network:floatingip, device_id = this floating IP).
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"),
                                                  unique=True)
    fixed_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(ForeignKey("routers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")

    __table_args__ = (UniqueConstraint("floating_network_id", "floating_ip_address"),)


# --- quotas and tags --------------------------------------------------------------------
class Quota(Base):
    """A project's own limit for one resource (absent: networkd.conf [quota])."""
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


class SeedStep(Base):
    """A first-start step already done (networkd.seed), so that it is done
    once: an admin may delete what it made, and it stays deleted."""
    __tablename__ = "seed_steps"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    done_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Tag(Base):
    """A tag of any resource; resource_type is the singular resource name
    ("network", "subnet", "port", "router", "floatingip", "security_group").
    Deleting a resource deletes its tags (networkd.db.common.delete_tags)."""
    __tablename__ = "tags"
    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
