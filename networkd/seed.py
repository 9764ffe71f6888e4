"""The first start, like DevStack's: what a new cloud has before anyone
made anything.

    public          admin's external network (router:external), subnet
                    public-subnet = [network] public_cidr (172.24.4.0/24):
                    gateway .1 (the machine's end of the stack's veth), pool
                    .2-.254, no DHCP
    private         the demo project's network, subnet private-subnet =
                    [network] private_cidr (10.0.0.0/24), DHCP on
    router1         the demo project's router: gateway on public, interface
                    on private-subnet (make_router1)
    default-access  the demo project's `default` security group lets in ssh
                    (tcp 22) and ping (icmp) from anywhere, so a first server
                    answers them (on DevStack, users add these two rules by
                    hand); other projects' default groups stay Neutron's

Each step runs once (seed_steps): what an admin deletes stays deleted, and
running it at every start changes nothing. It runs in networkd's main
process before the API serves (app.prepare), as an admin, through the same
functions as the API (so the same checks, events and DHCP port).
"""
from __future__ import annotations

import logging
import time

from sqlalchemy.orm import sessionmaker

from networkd import networks, routers, security_groups, subnets
from networkd.access import Access
from networkd.call import Call
from networkd.db.models import Network, SeedStep, Subnet
from networkd.settings import Settings
from shared.clients import ServiceSession
from shared.clients.identity import IdentityClient
from shared.context import RequestContext
from shared.db import transaction
from shared.events import Notifier
from shared.policy import PolicyEnforcer
from shared.request_ids import new_request_id

LOG = logging.getLogger(__name__)
PUBLIC, PUBLIC_SUBNET = "public", "public-subnet"
PRIVATE, PRIVATE_SUBNET = "private", "private-subnet"
ROUTER = "router1"
DEFAULT_ACCESS = "default-access"
ACCESS_DESCRIPTION = ("Made at first start so that a first server answers {what} "
                      "(pocketstack); delete it to close {what}.")
# (protocol, port, what it lets in)
ACCESS_RULES = (("tcp", 22, "ssh"), ("icmp", None, "ping"))
IDENTITY_ATTEMPTS = 10


def first_start(conf, sessions: sessionmaker, notifier: Notifier, policy: PolicyEnforcer,
                settings: Settings) -> None:
    with transaction(sessions, write=False) as session:
        done = {row.name for row in session.query(SeedStep)}
    if {PUBLIC, PRIVATE, ROUTER, DEFAULT_ACCESS} <= done:
        return
    identity = IdentityClient(ServiceSession.from_config(conf))
    admin_project = _project_id(identity, "admin")
    demo_project = _project_id(identity, conf.network.demo_project) \
        if conf.network.demo_project else None
    ctx = RequestContext(request_id=new_request_id(), user_name="networkd",
                         project_id=admin_project, roles=["admin", "member", "reader"])
    with transaction(sessions) as session:
        call = Call(session, Access(policy, ctx), settings, notifier)
        public = _step(call, PUBLIC, lambda: make_public(call, conf, admin_project))
        private_subnet = _step(call, PRIVATE, lambda: make_private(call, conf, demo_project))
        if public is not None and private_subnet is not None and demo_project:
            _step(call, ROUTER, lambda: make_router1(call, public, private_subnet, demo_project))
        if demo_project:
            _step(call, DEFAULT_ACCESS, lambda: open_default_group(call, demo_project))


def _step(call: Call, name: str, make):
    """Run one step unless done; its result (None when skipped)."""
    if call.session.get(SeedStep, name) is not None:
        return None
    result = make()
    call.session.add(SeedStep(name=name))
    call.session.flush()
    LOG.info("first start: %s made", name)
    return result


def make_public(call: Call, conf, admin_project: str | None) -> Network:
    network = networks.create(call, {"network": {
        "name": PUBLIC, "router:external": True, "project_id": admin_project}})
    subnets.create(call, {"subnet": {
        "name": PUBLIC_SUBNET, "network_id": network.id, "ip_version": 4,
        "cidr": conf.network.public_cidr, "enable_dhcp": False,
        "project_id": admin_project}})
    return network


def make_private(call: Call, conf, demo_project: str | None) -> Subnet | None:
    if not demo_project:
        LOG.warning("first start: no project %r, so no network %s",
                    conf.network.demo_project, PRIVATE)
        return None
    network = networks.create(call, {"network": {"name": PRIVATE, "project_id": demo_project}})
    return subnets.create(call, {"subnet": {
        "name": PRIVATE_SUBNET, "network_id": network.id, "ip_version": 4,
        "cidr": conf.network.private_cidr, "enable_dhcp": True,
        "dns_nameservers": list(conf.network.dns_nameservers),
        "project_id": demo_project}})


def make_router1(call: Call, public: Network, private_subnet: Subnet,
                 demo_project: str) -> None:
    """The demo project's router `router1`: gateway on `public`, interface
    on `private-subnet` (DevStack's), through the routers module's API
    functions."""
    router = routers.create(call, {"router": {
        "name": ROUTER, "project_id": demo_project,
        "external_gateway_info": {"network_id": public.id}}})
    routers.add_interface(call, router.id, {"subnet_id": private_subnet.id})


def open_default_group(call: Call, project_id: str) -> None:
    """Ingress rules tcp 22 and icmp from 0.0.0.0/0 in the project's
    `default` group (made now if it has none), through the API's own
    function; a rule the group already has is left as it is."""
    group = security_groups.ensure_default(call.session, project_id)
    for protocol, port, what in ACCESS_RULES:
        rule: dict[str, object] = {
            "security_group_id": group.id, "project_id": project_id, "direction": "ingress",
            "ethertype": "IPv4", "protocol": protocol, "remote_ip_prefix": "0.0.0.0/0",
            "description": ACCESS_DESCRIPTION.format(what=what)}
        if port is not None:
            rule.update(port_range_min=port, port_range_max=port)
        try:
            security_groups.create_rule(call, {"security_group_rule": rule})
        except security_groups.SecurityGroupRuleExists:
            LOG.info("first start: the default group of %s lets in %s already", project_id,
                     what)


def _project_id(identity: IdentityClient, name: str) -> str | None:
    """Identity answers: `pocketstack up` starts it first; a few tries
    cover a slow start."""
    for attempt in range(IDENTITY_ATTEMPTS):
        try:
            return identity.project_id(name)
        except Exception:
            if attempt == IDENTITY_ATTEMPTS - 1:
                raise
            time.sleep(1)
    return None
