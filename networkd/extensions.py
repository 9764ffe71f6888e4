"""The API extensions networkd implements, as GET /v2.0/extensions lists
them (aliases and names of neutron-lib's API definitions). The clients look
some up by alias before using a feature; an alias absent here is a 404."""
from __future__ import annotations

UPDATED = "2024-01-01T10:00:00-00:00"

# (alias, name, description)
EXTENSIONS: list[tuple[str, str, str]] = [
    ("project-id", "project_id field enabled",
     "Extension that indicates that project_id field is enabled."),
    ("standard-attr-description", "standard-attr-description",
     "Extension to add descriptions to standard attributes"),
    ("standard-attr-timestamp", "Resource timestamps",
     "Adds created_at and updated_at fields to all Neutron resources that have Neutron "
     "standard attributes."),
    ("standard-attr-revisions", "Resource revision numbers",
     "This extension will display the revision number of neutron resources."),
    ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, "
     "trunk, network_segment_range, router, network, policy, subnetpool, port, "
     "security_group, floatingip",
     "Enables to set tag on resources with standard attribute."),
    ("external-net", "Neutron external network", "Adds external network attribute to "
     "network resource."),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external "
     "application"),
    ("port-security", "Port Security", "Provides port security"),
    ("quotas", "Quota management support", "Expose functions for quotas management per "
     "project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas "
     "usage statistics per project"),
    ("sorting", "Sorting support", "Enabling the sorting feature of the API."),
    ("pagination", "Pagination support", "Enabling the pagination feature of the API."),
    ("fixed-ip-filter", "IP address substring filtering", "Provides IP address substring "
     "filtering when listing ports"),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
     "Neutron networks and access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the "
     "router abstraction for specifying whether SNAT should occur on the external gateway"),
    ("security-group", "security-group", "The security groups extension."),
    ("stateful-security-group", "Stateful security group", "Indicates if the security "
     "group is stateful or not"),
]


def as_json(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "name": name, "description": description,
            "updated": UPDATED, "links": []}


def all_extensions() -> list[dict]:
    return [as_json(*entry) for entry in EXTENSIONS]


def find(alias: str) -> dict | None:
    return next((as_json(*entry) for entry in EXTENSIONS if entry[0] == alias), None)
