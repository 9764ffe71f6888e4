"""Security groups and their rules: create, show, list, update, delete, as
Neutron's security group extension; and what ports need of them (each
project's `default` group, the check that the groups a port names exist).

Each project has a `default` group, made at its first need (a port
without groups, listing groups or rules, creating another group), with
Neutron's default rules: all egress (IPv4 and IPv6) and all ingress from
members of the same group. A new group starts with the two egress rules.
The default group cannot be renamed, nor deleted by its project; a group
that ports use cannot be deleted (SecurityGroupInUse 409).

A rule is checked as Neutron checks it (securitygroups_db.py): protocol
names or numbers 0-255 ("any" is none), port ranges only with a protocol
and for tcp/udp/dccp/sctp/udplite min <= max, ICMP type and code 0-255,
remote_ip_prefix or remote_group_id but not both, a prefix of the
rule's ethertype, and no second rule that means the same
(SecurityGroupRuleExists 409). The data plane (networkd.desired,
networkd.dataplane) turns the rules of the ports' groups into nftables.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from networkd import listing
from networkd.attributes import (
    Attr,
    boolean,
    nullable_string,
    owner_of,
    parse_create,
    parse_update,
    standard_attrs,
    string,
)
from networkd.call import Call
from networkd.db import common
from networkd.db.models import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from networkd.errors import InUse, InvalidCIDR, InvalidInput, NotFound
from networkd.quotas import check as check_quota

GROUP, RULE = "security_group", "security_group_rule"
DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"
INGRESS, EGRESS = "ingress", "egress"
IPV4, IPV6 = "IPv4", "IPv6"
ETHERTYPES = [IPV4, IPV6]

# neutron_lib.constants.IP_PROTOCOL_MAP, in its order ("icmpv6" is the
# legacy name of ipv6-icmp).
IP_PROTOCOL_MAP = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
    "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46,
    "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
NUM_TO_NAME = {str(num): name for name, num in IP_PROTOCOL_MAP.items() if name != "icmpv6"}
ANY = (None, "any")
SUPPORTED_PROTOCOLS = ANY + tuple(IP_PROTOCOL_MAP)
PORT_PROTOCOLS = {"dccp": 33, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136}
ICMP_NUMBERS = (1, 58)
IPV6_ONLY = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts",
             "ipv6-route", "41", "44", "58", "59", "60", "43"}
IPV6_ICMP_LEGACY = ("icmp", "icmpv6")


# --- Neutron's errors (neutron/extensions/securitygroup.py) ------------------------------
class SecurityGroupNotFound(NotFound):
    template = "Security group %(id)s does not exist"


class SecurityGroupRuleNotFound(NotFound):
    template = "Security group rule %(id)s does not exist"


class AddressGroupNotFound(NotFound):
    template = "Address group %(address_group_id)s could not be found."


class SecurityGroupInUse(InUse):
    template = "Security Group %(id)s %(reason)s."

    def __init__(self, **fields):
        fields.setdefault("reason", "in use")
        super().__init__(**fields)


class SecurityGroupCannotRemoveDefault(InUse):
    template = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(InUse):
    template = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(InUse):
    template = "Default security group already exists."


class SecurityGroupRuleExists(InUse):
    template = "Security group rule already exists. Rule id is %(rule_id)s."


class SecurityGroupInvalidPortRange(InvalidInput):
    template = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidProtocolForPort(InvalidInput):
    template = ("Ports cannot be specified for protocol %(protocol)s. Ports are only "
                "supported for %(valid_port_protocols)s.")


class SecurityGroupInvalidPortValue(InvalidInput):
    template = "Invalid value for port %(port)s"


class SecurityGroupInvalidIcmpValue(InvalidInput):
    template = "Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It must be 0 to 255."


class SecurityGroupEthertypeConflictWithProtocol(InvalidInput):
    template = "Invalid ethertype %(ethertype)s for protocol %(protocol)s."


class SecurityGroupMissingIcmpType(InvalidInput):
    template = ("ICMP code (port-range-max) %(value)s is provided but ICMP type "
                "(port-range-min) is missing.")


class SecurityGroupRuleInvalidProtocol(InvalidInput):
    template = ("Security group rule protocol %(protocol)s not supported. Only protocol "
                "values %(values)s and integer representations [0 to 255] are supported.")


class SecurityGroupMultipleRemoteEntites(InvalidInput):
    template = ("Only one of remote_ip_prefix or remote_group_id or remote_address_group_id "
                "may be provided.")


class SecurityGroupProtocolRequiredWithPorts(InvalidInput):
    template = "Must also specify protocol if port range is given."


class SecurityGroupRuleParameterConflict(InvalidInput):
    template = "Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s"


class SecurityGroupRuleInvalidEtherType(InvalidInput):
    template = ("Security group rule for ethertype '%(ethertype)s' not supported. Allowed "
                "values are %(values)s.")


# --- converters: Neutron raises its own errors from them --------------------------------
def _name_not_default(value: Any) -> str:
    name = string()(value)
    if name.lower() == DEFAULT_NAME:
        raise SecurityGroupDefaultAlreadyExists()
    return name


def _direction(value: Any) -> str:
    if value not in (INGRESS, EGRESS):
        raise ValueError(f"'{value}' is not in ['{INGRESS}', '{EGRESS}']")
    return value


def _protocol(value: Any) -> str | None:
    """Neutron's convert_protocol: None for any, a number 0-255 as a
    string, or a known name in lower case."""
    if value in ANY:
        return None
    if isinstance(value, bool):
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)
    try:
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in SUPPORTED_PROTOCOLS:
            return value.lower()
        raise SecurityGroupRuleInvalidProtocol(protocol=value,
                                               values=SUPPORTED_PROTOCOLS) from None
    if 0 <= number <= 255:
        return str(value)
    raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)


def _port(value: Any) -> int | None:
    """Neutron's convert_validate_port_value: None, or 0-65535."""
    if value is None:
        return None
    try:
        number = int(value)
        if isinstance(value, bool) or (isinstance(value, float) and number != value):
            raise ValueError
    except (TypeError, ValueError, OverflowError):   # OverflowError: infinity
        raise SecurityGroupInvalidPortValue(port=value) from None
    if not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(port=value)
    return number


def _ethertype(value: Any) -> str:
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    raise SecurityGroupRuleInvalidEtherType(ethertype=value, values=ETHERTYPES)


def _ip_prefix(value: Any) -> str | None:
    """Neutron's convert_ip_prefix_to_cidr: a prefix as netaddr writes it
    (host bits kept, /32 added to an address)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_interface(value))
    except (TypeError, ValueError):
        raise InvalidCIDR(input=value) from None


def _nullable_string(value: Any) -> str | None:
    return None if value is None else string(36)(value)


def _group_attrs() -> dict[str, Attr]:
    return {**standard_attrs(),
            "name": Attr(_name_not_default, default=""),
            "stateful": Attr(boolean, default=True)}


def _rule_attrs() -> dict[str, Attr]:
    return {
        "security_group_id": Attr(string(36), put=False, required=True),
        "direction": Attr(_direction, put=False, required=True),
        "protocol": Attr(_protocol, put=False, default=None),
        "port_range_min": Attr(_port, put=False, default=None),
        "port_range_max": Attr(_port, put=False, default=None),
        "ethertype": Attr(_ethertype, put=False, default=IPV4),
        "remote_ip_prefix": Attr(_ip_prefix, put=False, default=None),
        "remote_group_id": Attr(_nullable_string, put=False, default=None),
        "remote_address_group_id": Attr(_nullable_string, put=False, default=None),
        "description": Attr(nullable_string(255), default=""),
        "project_id": Attr(string(64), put=False),
        "tenant_id": Attr(string(64), put=False),
        # Shown, never set (Neutron's allow_post False).
        "normalized_cidr": Attr(_ip_prefix, post=False, put=False),
        "belongs_to_default_sg": Attr(boolean, post=False, put=False),
    }


GROUP_ATTRS = _group_attrs()
RULE_ATTRS = _rule_attrs()


# --- the default group and ports -------------------------------------------------------------
def ensure_default(session: Session, project_id: str) -> SecurityGroup:
    """The project's default group, made now if it has none."""
    row = session.get(DefaultSecurityGroup, project_id)
    if row is not None:
        group = session.get(SecurityGroup, row.security_group_id)
        if group is not None:
            return group
    group = SecurityGroup(id=common.new_id(), project_id=project_id, name=DEFAULT_NAME,
                          description=DEFAULT_DESCRIPTION, stateful=True)
    session.add(group)
    session.flush()
    for direction, ethertype in ((EGRESS, IPV4), (EGRESS, IPV6),
                                 (INGRESS, IPV4), (INGRESS, IPV6)):
        _add_rule(session, group, direction, ethertype,
                  remote_group_id=group.id if direction == INGRESS else None)
    session.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    session.flush()
    return group


def _add_rule(session: Session, group: SecurityGroup, direction: str, ethertype: str,
              remote_group_id: str | None = None) -> None:
    session.add(SecurityGroupRule(
        id=common.new_id(), project_id=group.project_id, security_group_id=group.id,
        direction=direction, ethertype=ethertype, remote_group_id=remote_group_id,
        description=""))


def default_missing(call: Call, query: listing.Query) -> str | None:
    """The project whose default group a list request makes first (as
    Neutron's get_security_groups): the project_id (or tenant_id) filter's,
    else the caller's; another project's only for admins. None when it
    exists already or none is to be made."""
    project_id = query.first("project_id") or query.first("tenant_id") or call.project_id
    if not project_id or (project_id != call.project_id and not call.is_admin):
        return None
    if call.session.get(DefaultSecurityGroup, project_id) is not None:
        return None
    return project_id


def resolve_for_port(call: Call, ids: list[str], project_id: str) -> list[str]:
    """The groups a port of `project_id` may be in: each must exist and
    belong to that project (admins may use any)."""
    for group_id in ids:
        group = common.get(call.session, SecurityGroup, group_id)
        if group is None or (group.project_id != project_id and not call.is_admin):
            raise SecurityGroupNotFound(id=group_id)
    return ids


# --- groups: reading -------------------------------------------------------------------------
def target(group: SecurityGroup) -> dict:
    return {"project_id": group.project_id, "id": group.id, "name": group.name}


def get(call: Call, group_id: str) -> SecurityGroup:
    group = common.get(call.session, SecurityGroup, group_id)
    if group is None or not call.access.allows("get_security_group", target(group)):
        raise SecurityGroupNotFound(id=group_id)
    return group


def list_visible(call: Call, wanted: listing.Query | None = None) -> list[SecurityGroup]:
    """The security groups the caller may see; only those `wanted` names
    by id, if it does (listing.narrowed)."""
    query = listing.narrowed(select(SecurityGroup).order_by(SecurityGroup.created_at,
                                                    SecurityGroup.id),
                     wanted, {"id": SecurityGroup.id})
    if not call.is_admin:
        query = query.where(SecurityGroup.project_id == call.project_id)
    return [g for g in call.session.scalars(query)
            if call.access.allows("get_security_group", target(g))]


def to_dicts(call: Call, groups: list[SecurityGroup]) -> list[dict]:
    tags = common.tags_of(call.session, GROUP, [g.id for g in groups])
    defaults = _default_ids(call.session, {g.project_id for g in groups})
    return [render(group, tags[group.id], defaults) for group in groups]


def to_dict(call: Call, group: SecurityGroup) -> dict:
    return to_dicts(call, [group])[0]


def render(group: SecurityGroup, tags: list[str], defaults: set[str]) -> dict:
    return {
        "id": group.id, "name": group.name, "stateful": group.stateful, "shared": False,
        "security_group_rules": [render_rule(rule, group.id in defaults)
                                 for rule in group.rules],
        "tags": tags, **common.standard_fields(group),
    }


def _default_ids(session: Session, projects: set[str]) -> set[str]:
    if not projects:
        return set()
    return set(session.scalars(select(DefaultSecurityGroup.security_group_id)
                               .where(DefaultSecurityGroup.project_id.in_(projects))))


# --- groups: create, update, delete ------------------------------------------------------------
def create(call: Call, body: dict) -> SecurityGroup:
    fields = parse_create(GROUP, body, GROUP_ATTRS)
    project_id = owner_of(fields, call.project_id)
    group = SecurityGroup(id=common.new_id(), project_id=project_id, name=fields["name"],
                          description=fields["description"], stateful=fields["stateful"])
    call.access.check("create_security_group", target(group))
    check_quota(call.session, call.settings.quota_defaults, project_id, GROUP)
    if project_id == call.project_id or call.is_admin:
        ensure_default(call.session, project_id)
    check_quota(call.session, call.settings.quota_defaults, project_id, RULE, wanted=2)
    call.session.add(group)
    call.session.flush()
    for ethertype in (IPV4, IPV6):
        _add_rule(call.session, group, EGRESS, ethertype)
    call.session.flush()
    call.session.refresh(group)
    call.notify("security_group.create.end", GROUP, group.id, project_id,
                {"security_group": {"id": group.id, "name": group.name}})
    return group


def update(call: Call, group_id: str, body: dict) -> SecurityGroup:
    group = get(call, group_id)
    fields = parse_update(GROUP, body, GROUP_ATTRS)
    call.access.check("update_security_group", target(group))
    if "stateful" in fields and fields["stateful"] != group.stateful and _in_use(call, group):
        raise SecurityGroupInUse(id=group.id)
    if group.name == DEFAULT_NAME and "name" in fields:
        raise SecurityGroupCannotUpdateDefault()
    for name in ("name", "description", "stateful"):
        if name in fields:
            setattr(group, name, fields[name])
    common.touch(group)
    call.session.flush()
    call.notify("security_group.update.end", GROUP, group.id, group.project_id,
                {"security_group": {"id": group.id, "changed": sorted(fields)}})
    return group


def delete(call: Call, group_id: str) -> None:
    group = get(call, group_id)
    call.access.check("delete_security_group", target(group))
    if _in_use(call, group):
        raise SecurityGroupInUse(id=group.id)
    if group.name == DEFAULT_NAME and not call.is_admin:
        raise SecurityGroupCannotRemoveDefault()
    common.delete_tags(call.session, GROUP, group.id)
    # Rules of other groups that name this one as their remote go with it
    # (Neutron's foreign key cascade).
    for rule in call.session.scalars(select(SecurityGroupRule).where(
            SecurityGroupRule.remote_group_id == group.id,
            SecurityGroupRule.security_group_id != group.id)):
        call.session.delete(rule)
    default = call.session.get(DefaultSecurityGroup, group.project_id)
    if default is not None and default.security_group_id == group.id:
        call.session.delete(default)
    call.session.delete(group)
    call.session.flush()
    call.notify("security_group.delete.end", GROUP, group.id, group.project_id,
                {"security_group_id": group.id})


def _in_use(call: Call, group: SecurityGroup) -> bool:
    return call.session.scalar(select(PortSecurityGroup.port_id).where(
        PortSecurityGroup.security_group_id == group.id).limit(1)) is not None


# --- rules -------------------------------------------------------------------------------------
def rule_target(rule: SecurityGroupRule, group: SecurityGroup) -> dict:
    return {"project_id": rule.project_id, "id": rule.id,
            "security_group_id": group.id, "security_group:project_id": group.project_id}


def get_rule(call: Call, rule_id: str) -> SecurityGroupRule:
    rule = common.get(call.session, SecurityGroupRule, rule_id)
    if rule is None or not _rule_visible(call, rule):
        raise SecurityGroupRuleNotFound(id=rule_id)
    return rule


def _rule_visible(call: Call, rule: SecurityGroupRule) -> bool:
    group = call.session.get_one(SecurityGroup, rule.security_group_id)
    return call.access.allows("get_security_group_rule", rule_target(rule, group))


def list_rules(call: Call) -> list[SecurityGroupRule]:
    query = select(SecurityGroupRule).order_by(SecurityGroupRule.created_at,
                                               SecurityGroupRule.id)
    if not call.is_admin:
        own_groups = select(SecurityGroup.id).where(SecurityGroup.project_id == call.project_id)
        query = query.where(or_(SecurityGroupRule.project_id == call.project_id,
                                SecurityGroupRule.security_group_id.in_(own_groups)))
    return [r for r in call.session.scalars(query) if _rule_visible(call, r)]


def rules_to_dicts(call: Call, rules: list[SecurityGroupRule]) -> list[dict]:
    groups = {r.security_group_id for r in rules}
    projects = set(call.session.scalars(select(SecurityGroup.project_id)
                                        .where(SecurityGroup.id.in_(groups)))) if groups else set()
    defaults = _default_ids(call.session, projects)
    return [render_rule(rule, rule.security_group_id in defaults) for rule in rules]


def rule_to_dict(call: Call, rule: SecurityGroupRule) -> dict:
    return rules_to_dicts(call, [rule])[0]


def render_rule(rule: SecurityGroupRule, in_default_group: bool) -> dict:
    prefix = rule.remote_ip_prefix
    return {
        "id": rule.id, "security_group_id": rule.security_group_id,
        "direction": rule.direction, "ethertype": rule.ethertype, "protocol": rule.protocol,
        "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
        "remote_ip_prefix": prefix, "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": rule.remote_address_group_id,
        "normalized_cidr": str(ipaddress.ip_interface(prefix).network) if prefix else None,
        "belongs_to_default_sg": in_default_group,
        **common.standard_fields(rule),
    }


def create_rule(call: Call, body: dict) -> SecurityGroupRule:
    fields = parse_create(RULE, body, RULE_ATTRS)
    project_id = owner_of(fields, call.project_id)
    check_rule(fields)
    group = _group_for_rule(call, fields["security_group_id"], project_id)
    if fields["remote_group_id"]:
        _group_for_rule(call, fields["remote_group_id"], project_id)
    if fields["remote_address_group_id"]:
        raise AddressGroupNotFound(address_group_id=fields["remote_address_group_id"])
    rule = SecurityGroupRule(id=common.new_id(), project_id=project_id,
                             security_group_id=group.id, direction=fields["direction"],
                             ethertype=fields["ethertype"], protocol=fields["protocol"],
                             port_range_min=fields["port_range_min"],
                             port_range_max=fields["port_range_max"],
                             remote_ip_prefix=fields["remote_ip_prefix"],
                             remote_group_id=fields["remote_group_id"],
                             remote_address_group_id=None,
                             description=fields["description"])
    call.access.check("create_security_group_rule", rule_target(rule, group))
    check_quota(call.session, call.settings.quota_defaults, project_id, RULE)
    wanted = rule_key(fields | {"security_group_id": group.id})
    for existing in group.rules:
        if rule_key(_fields_of(existing)) == wanted:
            raise SecurityGroupRuleExists(rule_id=existing.id)
    call.session.add(rule)
    common.touch(group)
    call.session.flush()
    call.notify("security_group_rule.create.end", RULE, rule.id, project_id,
                {"security_group_rule": {"id": rule.id, "security_group_id": group.id}})
    return rule


def delete_rule(call: Call, rule_id: str) -> None:
    rule = get_rule(call, rule_id)
    group = call.session.get_one(SecurityGroup, rule.security_group_id)
    call.access.check("delete_security_group_rule", rule_target(rule, group))
    call.session.delete(rule)
    common.touch(group)
    call.session.flush()
    call.notify("security_group_rule.delete.end", RULE, rule.id, rule.project_id,
                {"security_group_rule_id": rule.id, "security_group_id": group.id})


def _group_for_rule(call: Call, group_id: str, project_id: str) -> SecurityGroup:
    """A group the rule's project may use (Neutron's _check_security_group:
    the project's own, any for admins)."""
    group = common.get(call.session, SecurityGroup, group_id)
    if group is None or (group.project_id != project_id and not call.is_admin):
        raise SecurityGroupNotFound(id=group_id)
    return group


def check_rule(rule: dict) -> None:
    """Neutron's _validate_base_security_group_rule_attributes, in its
    order; it also normalises `rule` as Neutron does (IPv6 ICMP names, the
    whole port range meaning none)."""
    if rule["ethertype"] == IPV6:
        if rule["protocol"] in IPV6_ICMP_LEGACY:
            rule["protocol"] = "ipv6-icmp"
        elif rule["protocol"] == "1":
            rule["protocol"] = "58"
    if rule["port_range_min"] == 1 and rule["port_range_max"] == 65535:
        rule["port_range_min"] = rule["port_range_max"] = None
    _check_port_range(rule)
    prefix = rule["remote_ip_prefix"]
    if prefix and rule["ethertype"] != f"IPv{ipaddress.ip_interface(prefix).version}":
        raise SecurityGroupRuleParameterConflict(ethertype=rule["ethertype"], cidr=prefix)
    if rule["protocol"] in IPV6_ONLY and rule["ethertype"] == IPV4:
        raise SecurityGroupEthertypeConflictWithProtocol(ethertype=rule["ethertype"],
                                                         protocol=rule["protocol"])
    remotes = [key for key in ("remote_ip_prefix", "remote_group_id", "remote_address_group_id")
               if rule.get(key)]
    if len(remotes) > 1:
        raise SecurityGroupMultipleRemoteEntites()


def _check_port_range(rule: dict) -> None:
    low, high = rule["port_range_min"], rule["port_range_max"]
    if low is None and high is None:
        return
    if not rule["protocol"]:
        raise SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(rule["protocol"])
    if number in PORT_PROTOCOLS.values():
        if low == 0 or high == 0:
            raise SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise SecurityGroupInvalidPortRange()
    elif number in ICMP_NUMBERS:
        for attr, field, value in (("port_range_min", "type", low),
                                   ("port_range_max", "code", high)):
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(field=field, attr=attr, value=value)
        if low is None and high is not None:
            raise SecurityGroupMissingIcmpType(value=high)
    else:
        raise SecurityGroupInvalidProtocolForPort(
            protocol=number, valid_port_protocols=", ".join(n.upper() for n in PORT_PROTOCOLS))


def protocol_number(protocol: str) -> int:
    return int(IP_PROTOCOL_MAP.get(protocol, protocol))


def _protocol_key(protocol: str | None, ethertype: str) -> str:
    """Neutron's _get_ip_proto_name_and_num: a name and its number are the
    same protocol ("tcp" and "6")."""
    if protocol is None:
        return "+"
    if ethertype == IPV6:
        if protocol in IPV6_ICMP_LEGACY:
            protocol = "ipv6-icmp"
        elif protocol == "1":
            protocol = "58"
    if protocol in IP_PROTOCOL_MAP:
        return str([protocol, str(IP_PROTOCOL_MAP[protocol])])
    if protocol in NUM_TO_NAME:
        return str([NUM_TO_NAME[protocol], protocol])
    return str([protocol, protocol])


def rule_key(rule: dict) -> str:
    """Neutron's _rule_to_key: two rules with the same key are the same
    rule (any address, 0.0.0.0/0 and ::/0 are one remote)."""
    parts = []
    for key in ("direction", "ethertype", "port_range_max", "port_range_min", "protocol",
                "remote_group_id", "remote_address_group_id", "remote_ip_prefix",
                "security_group_id"):
        value = rule.get(key)
        if key == "remote_ip_prefix":
            parts.append("+" if value in ("0.0.0.0/0", "::/0", None) else str(value))
        elif value is None:
            parts.append("+")
        elif key == "protocol":
            parts.append(_protocol_key(value, rule.get("ethertype") or IPV4))
        else:
            parts.append(str(value))
    return "_".join(parts)


def _fields_of(rule: SecurityGroupRule) -> dict:
    return {"direction": rule.direction, "ethertype": rule.ethertype,
            "port_range_max": rule.port_range_max, "port_range_min": rule.port_range_min,
            "protocol": rule.protocol, "remote_group_id": rule.remote_group_id,
            "remote_address_group_id": rule.remote_address_group_id,
            "remote_ip_prefix": rule.remote_ip_prefix,
            "security_group_id": rule.security_group_id}
