"""networkd's policy defaults: Neutron's rule names and default check
strings (neutron/conf/policies/*.py, the 2023+ "secure RBAC" defaults), in
the oslo.policy language.

Members manage their project's networks, subnets and ports; readers look;
only admins create shared or external (router:external) networks or set
the binding:* fields (and services such as computed, with role service);
a port on a network of another project needs that network to be shared.
A create or update also checks one rule per attribute it sets
("create_network:shared"), as Neutron does, so an operator can open or
close a single attribute in networkd-policy.yaml.

Targets are the resource's API fields, plus "network:project_id" for
subnets and ports (the owner of their network: rule:network_owner).
Neutron's `field:<resource>:<attribute>=<value>` check is registered here
(FieldCheck), so rules such as `rule:shared` read as in Neutron.
"""
from __future__ import annotations

import re

from oslo_policy import _checks

from shared.policy import RuleDefault

ADMIN = "role:admin"
SERVICE = "role:service"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
NET_OWNER_MEMBER = "role:member and rule:network_owner"
NET_OWNER_READER = "role:reader and rule:network_owner"
ADMIN_OR_PROJECT_MEMBER = f"({ADMIN}) or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"({ADMIN}) or ({PROJECT_READER})"
ADMIN_OR_SERVICE = f"({ADMIN}) or ({SERVICE})"
ADMIN_OR_NET_OWNER_MEMBER = f"({ADMIN}) or ({NET_OWNER_MEMBER})"
ADMIN_OR_NET_OWNER_READER = f"({ADMIN}) or ({NET_OWNER_READER})"


@_checks.register("field")
class FieldCheck(_checks.Check):
    """Neutron's `field:<resource>:<attribute>=<value>`: true when the
    target's attribute has that value (`~` before the value: a regular
    expression, as `field:port:device_owner=~^network:`)."""

    def __init__(self, kind: str, match: str):
        super().__init__(kind, match)
        resource, _, rest = match.partition(":")
        self.attribute, _, value = rest.partition("=")
        self.regex = re.compile(value[1:]) if value.startswith("~") else None
        self.value = value

    def __call__(self, target, creds, enforcer, current_rule=None):
        if self.attribute not in target:
            return False
        actual = target[self.attribute]
        if self.regex is not None:
            return bool(self.regex.match(str(actual)))
        if isinstance(actual, bool):
            return actual == (self.value.lower() == "true")
        return str(actual) == self.value


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(name, check, description)


GENERAL = [
    _rule("context_is_admin", ADMIN, "Rule for cloud admin access."),
    _rule("service_api", SERVICE, "Default rule for the service-to-service APIs."),
    _rule("owner", "project_id:%(project_id)s", "Rule for resource owner access."),
    _rule("admin_or_owner", "rule:context_is_admin or rule:owner",
          "Rule for admin or owner access."),
    _rule("network_owner", "project_id:%(network:project_id)s",
          "Rule for network owner access."),
    _rule("admin_or_network_owner",
          "rule:context_is_admin or project_id:%(network:project_id)s",
          "Rule for admin or network owner access."),
    _rule("admin_only", "rule:context_is_admin", "Rule for admin-only access."),
    _rule("regular_user", "", "Rule for regular user access."),
    _rule("shared", "field:networks:shared=True", "Rule of shared network."),
    _rule("external", "field:networks:router:external=True",
          "Definition of an external network."),
    _rule("network_device", "field:port:device_owner=~^network:",
          "Definition of port with network device_owner."),
    _rule("default", "rule:admin_or_owner", "Default access rule."),
]

NETWORKS = [
    _rule("create_network", ADMIN_OR_PROJECT_MEMBER, "Create a network."),
    _rule("create_network:shared", ADMIN, "Create a shared network."),
    _rule("create_network:router:external", ADMIN, "Create an external network."),
    _rule("create_network:port_security_enabled", ADMIN_OR_PROJECT_MEMBER,
          "Specify port_security_enabled when creating a network."),
    _rule("get_network", f"{ADMIN_OR_PROJECT_READER} or rule:shared or rule:external "
          f"or ({SERVICE})", "Get a network."),
    _rule("update_network", ADMIN_OR_PROJECT_MEMBER, "Update a network."),
    _rule("update_network:shared", ADMIN, "Update the shared attribute of a network."),
    _rule("update_network:router:external", ADMIN,
          "Update the router:external attribute of a network."),
    _rule("update_network:port_security_enabled", ADMIN_OR_PROJECT_MEMBER,
          "Update port_security_enabled of a network."),
    _rule("delete_network", ADMIN_OR_PROJECT_MEMBER, "Delete a network."),
]

SUBNETS = [
    _rule("create_subnet", ADMIN_OR_NET_OWNER_MEMBER, "Create a subnet."),
    _rule("get_subnet", f"{ADMIN_OR_PROJECT_READER} or rule:shared or ({SERVICE})",
          "Get a subnet."),
    _rule("update_subnet", ADMIN_OR_NET_OWNER_MEMBER, "Update a subnet."),
    _rule("delete_subnet", ADMIN_OR_NET_OWNER_MEMBER, "Delete a subnet."),
]

_PORT_OWNERS = f"{ADMIN_OR_NET_OWNER_MEMBER} or ({SERVICE})"
PORTS = [
    _rule("create_port", f"{ADMIN_OR_PROJECT_MEMBER} or ({SERVICE})", "Create a port."),
    _rule("create_port:device_owner",
          f"not rule:network_device or {_PORT_OWNERS}",
          "Specify device_owner when creating a port (network:* only for the "
          "network's owner)."),
    _rule("create_port:mac_address", _PORT_OWNERS,
          "Specify mac_address when creating a port."),
    _rule("create_port:fixed_ips:ip_address", _PORT_OWNERS,
          "Specify an IP address in fixed_ips when creating a port."),
    _rule("create_port:fixed_ips:subnet_id", f"{_PORT_OWNERS} or rule:shared",
          "Specify a subnet in fixed_ips when creating a port."),
    _rule("create_port:port_security_enabled", _PORT_OWNERS,
          "Specify port_security_enabled when creating a port."),
    _rule("create_port:binding:host_id", ADMIN_OR_SERVICE,
          "Specify binding:host_id when creating a port."),
    _rule("create_port:binding:profile", ADMIN_OR_SERVICE,
          "Specify binding:profile when creating a port."),
    _rule("create_port:binding:vnic_type", f"{ADMIN_OR_PROJECT_MEMBER} or ({SERVICE})",
          "Specify binding:vnic_type when creating a port."),
    _rule("get_port", f"{ADMIN_OR_PROJECT_READER} or ({NET_OWNER_READER}) or ({SERVICE})",
          "Get a port."),
    _rule("get_port:binding:vif_type", ADMIN_OR_SERVICE, "Get binding:vif_type of a port."),
    _rule("get_port:binding:vif_details", ADMIN_OR_SERVICE,
          "Get binding:vif_details of a port."),
    _rule("get_port:binding:host_id", ADMIN_OR_SERVICE, "Get binding:host_id of a port."),
    _rule("get_port:binding:profile", ADMIN_OR_SERVICE, "Get binding:profile of a port."),
    _rule("update_port", f"{ADMIN_OR_PROJECT_MEMBER} or ({SERVICE})", "Update a port."),
    _rule("update_port:device_owner", f"not rule:network_device or {_PORT_OWNERS}",
          "Update device_owner of a port."),
    _rule("update_port:mac_address", ADMIN_OR_SERVICE, "Update mac_address of a port."),
    _rule("update_port:fixed_ips:ip_address", _PORT_OWNERS,
          "Specify an IP address in fixed_ips when updating a port."),
    _rule("update_port:fixed_ips:subnet_id", f"{_PORT_OWNERS} or rule:shared",
          "Specify a subnet in fixed_ips when updating a port."),
    _rule("update_port:port_security_enabled", _PORT_OWNERS,
          "Update port_security_enabled of a port."),
    _rule("update_port:binding:host_id", ADMIN_OR_SERVICE,
          "Update binding:host_id of a port."),
    _rule("update_port:binding:profile", ADMIN_OR_SERVICE,
          "Update binding:profile of a port."),
    _rule("update_port:binding:vnic_type", f"{ADMIN_OR_PROJECT_MEMBER} or ({SERVICE})",
          "Update binding:vnic_type of a port."),
    _rule("delete_port", f"{ADMIN_OR_PROJECT_MEMBER} or ({NET_OWNER_MEMBER}) or ({SERVICE})",
          "Delete a port."),
]

QUOTAS = [
    _rule("get_quota", ADMIN_OR_PROJECT_READER, "Get a project's quotas."),
    _rule("update_quota", ADMIN, "Update a project's quotas."),
    _rule("delete_quota", ADMIN, "Delete (reset) a project's quotas."),
]

PROJECT_MANAGER = "role:manager and project_id:%(project_id)s"
ADMIN_OR_PROJECT_MANAGER = f"({ADMIN}) or ({PROJECT_MANAGER})"
# A security group rule's target carries its group's owner.
SG_OWNER = "project_id:%(security_group:project_id)s"
ADMIN_OR_SG_OWNER_MEMBER = f"({ADMIN}) or (role:member and {SG_OWNER})"
ADMIN_OR_SG_OWNER_READER = f"({ADMIN}) or (role:reader and {SG_OWNER})"

ROUTERS = [
    _rule("create_router", ADMIN_OR_PROJECT_MEMBER, "Create a router."),
    _rule("create_router:external_gateway_info", ADMIN_OR_PROJECT_MEMBER,
          "Specify external_gateway_info when creating a router."),
    _rule("create_router:external_gateway_info:network_id", ADMIN_OR_PROJECT_MEMBER,
          "Specify the gateway's network when creating a router."),
    _rule("create_router:external_gateway_info:enable_snat", ADMIN,
          "Specify enable_snat of the gateway when creating a router."),
    _rule("create_router:external_gateway_info:external_fixed_ips", ADMIN,
          "Specify the gateway's external_fixed_ips when creating a router."),
    _rule("get_router", ADMIN_OR_PROJECT_READER, "Get a router."),
    _rule("update_router", ADMIN_OR_PROJECT_MEMBER, "Update a router."),
    _rule("update_router:external_gateway_info", ADMIN_OR_PROJECT_MEMBER,
          "Update the external_gateway_info of a router."),
    _rule("update_router:external_gateway_info:network_id", ADMIN_OR_PROJECT_MEMBER,
          "Update the gateway's network of a router."),
    _rule("update_router:external_gateway_info:enable_snat", ADMIN,
          "Update enable_snat of a router's gateway."),
    _rule("update_router:external_gateway_info:external_fixed_ips", ADMIN,
          "Update the external_fixed_ips of a router's gateway."),
    _rule("delete_router", ADMIN_OR_PROJECT_MEMBER, "Delete a router."),
    _rule("add_router_interface", ADMIN_OR_PROJECT_MEMBER, "Add an interface to a router."),
    _rule("remove_router_interface", ADMIN_OR_PROJECT_MEMBER,
          "Remove an interface from a router."),
]

FLOATINGIPS = [
    _rule("create_floatingip", ADMIN_OR_PROJECT_MEMBER, "Create a floating IP."),
    _rule("create_floatingip:floating_ip_address", ADMIN_OR_PROJECT_MANAGER,
          "Create a floating IP with a given address."),
    _rule("get_floatingip", ADMIN_OR_PROJECT_READER, "Get a floating IP."),
    _rule("update_floatingip", ADMIN_OR_PROJECT_MEMBER, "Update (associate or "
          "disassociate) a floating IP."),
    _rule("delete_floatingip", ADMIN_OR_PROJECT_MEMBER, "Delete a floating IP."),
]

SECURITY_GROUPS = [
    _rule("sg_owner", SG_OWNER, "Rule for security group owner access."),
    _rule("admin_or_sg_owner", f"rule:context_is_admin or {SG_OWNER}",
          "Rule for admin or security group owner access."),
    _rule("create_security_group", ADMIN_OR_PROJECT_MEMBER, "Create a security group."),
    _rule("get_security_group", ADMIN_OR_PROJECT_READER, "Get a security group."),
    _rule("update_security_group", ADMIN_OR_PROJECT_MEMBER, "Update a security group."),
    _rule("delete_security_group", ADMIN_OR_PROJECT_MEMBER, "Delete a security group."),
    _rule("create_security_group_rule", ADMIN_OR_SG_OWNER_MEMBER,
          "Create a security group rule (in a group of the caller's project)."),
    _rule("get_security_group_rule", f"{ADMIN_OR_SG_OWNER_READER} or ({PROJECT_READER})",
          "Get a security group rule."),
    _rule("delete_security_group_rule", ADMIN_OR_SG_OWNER_MEMBER,
          "Delete a security group rule."),
]

RULES: list[RuleDefault] = (GENERAL + NETWORKS + SUBNETS + PORTS + QUOTAS + ROUTERS
                            + FLOATINGIPS + SECURITY_GROUPS)
# Attribute rules ("create_network:shared") are checked only when they exist.
RULE_NAMES = frozenset(rule.name for rule in RULES)
