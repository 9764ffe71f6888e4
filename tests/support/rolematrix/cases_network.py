"""networkd's routes (Neutron v2.0). Neutron decides what a caller sees with
the same rules it enforces: a resource whose get_<resource> rule refuses the
caller is answered 404, whatever the call (neutron/api/v2/base.py turns a
refused update or delete into 404 when the caller may not even get the
resource); one it may get but not change is 403. A subnet or port asked
for on a network the caller may not see is 404 too (Neutron's
_validate_network_tenant_ownership hides the network). The targets are the
resource's own fields (networkd/policies.py)."""
from __future__ import annotations

from functools import partial

from tests.support.rolematrix.model import Case, rule_allows

C = partial(Case, "networkd")
NETWORK = {"project_id": "{alpha}", "tenant_id": "{alpha}", "shared": False,
           "router:external": False}
SUBNET = {"project_id": "{alpha}", "tenant_id": "{alpha}", "network:project_id": "{alpha}",
          "shared": False}
PORT = {"project_id": "{alpha}", "tenant_id": "{alpha}", "network:project_id": "{alpha}",
        "device_owner": ""}
OWNED = {"project_id": "{alpha}", "tenant_id": "{alpha}"}
RULE = {"project_id": "{alpha}", "tenant_id": "{alpha}",
        "security_group:project_id": "{alpha}"}
BETA = {"project_id": "{beta}", "tenant_id": "{beta}"}
FOR_CREATE = {"project_id": "{own_project}", "tenant_id": "{own_project}"}


def item(kind: str, target: dict, route: str, path: str, rule: str, **kwargs) -> Case:
    """A case on one of alpha's resources: hidden when get_<kind> refuses
    (on `target`); the call's own rule is asked on `rule_target` (default:
    the same)."""
    return C(route, path, rule, target=kwargs.pop("rule_target", target),
             seen=rule_allows("networkd", f"get_{kind}", target), **kwargs)


def crud(kind: str, collection: str, target: dict, create_body: dict, update_body: dict,
         create_target: dict | None = None, create_seen=None,
         id_name: str | None = None) -> list[Case]:
    one = f"/v2.0/{collection}/<{id_name or kind + '_id'}>"
    return [
        C(f"GET /v2.0/{collection}", f"/v2.0/{collection}", f"get_{kind}",
          target=FOR_CREATE),
        C(f"POST /v2.0/{collection}", f"/v2.0/{collection}", f"create_{kind}", ok=(201,),
          target=create_target or FOR_CREATE, seen=create_seen, json={kind: create_body}),
        item(kind, target, f"GET {one}", f"/v2.0/{collection}/{{{kind}}}", f"get_{kind}"),
        item(kind, target, f"PUT {one}", f"/v2.0/{collection}/{{{kind}}}",
             f"update_{kind}", json={kind: update_body}),
        item(kind, target, f"DELETE {one}", f"/v2.0/{collection}/{{fresh}}",
             f"delete_{kind}", fresh=kind, ok=(204,)),
    ]


TAGS = "/v2.0/<collection>/<resource_id>/tags"
NET_TAGS = "/v2.0/networks/{network}/tags"
FRESH_TAGS = "/v2.0/networks/{fresh}/tags"

CASES = [
    C("GET /", "/", public=True),
    C("GET /v2.0", "/v2.0", public=True),
    C("GET /v2.0/", "/v2.0/", public=True),
    C("GET /v2.0/extensions", "/v2.0/extensions"),
    C("GET /v2.0/extensions/<alias>", "/v2.0/extensions/router"),
    *crud("network", "networks", NETWORK, {"name": "{unique}"}, {"description": "changed"}),
    *crud("subnet", "subnets", SUBNET,
          {"network_id": "{network}", "ip_version": 4, "cidr": "{unique_cidr}"},
          {"description": "changed"},
          create_target={**FOR_CREATE, "network:project_id": "{alpha}"},
          create_seen=rule_allows("networkd", "get_network", NETWORK)),
    *crud("port", "ports", PORT, {"network_id": "{network}"}, {"description": "changed"},
          create_seen=rule_allows("networkd", "get_network", NETWORK)),
    *crud("router", "routers", OWNED, {"name": "{unique}"}, {"description": "changed"}),
    item("router", OWNED, "PUT /v2.0/routers/<router_id>/add_router_interface",
         "/v2.0/routers/{fresh}/add_router_interface", "add_router_interface",
         fresh="router", json={"subnet_id": "{unique_subnet}"}),
    item("router", OWNED, "PUT /v2.0/routers/<router_id>/remove_router_interface",
         "/v2.0/routers/{fresh}/remove_router_interface", "remove_router_interface",
         fresh="router_with_interface", json={"subnet_id": "{interface_subnet}"}),
    *crud("floatingip", "floatingips", OWNED, {"floating_network_id": "{public_network}"},
          {"description": "changed"}),
    *crud("security_group", "security-groups", OWNED, {"name": "{unique}"},
          {"description": "changed"}, id_name="group_id"),
    C("GET /v2.0/security-group-rules", "/v2.0/security-group-rules",
      "get_security_group_rule", target={**FOR_CREATE,
                                         "security_group:project_id": "{own_project}"}),
    item("security_group", OWNED, "POST /v2.0/security-group-rules",
         "/v2.0/security-group-rules", "create_security_group_rule", ok=(201,), rule_target=RULE,
         json={"security_group_rule": {"security_group_id": "{security_group}",
                                       "direction": "ingress", "ethertype": "IPv4",
                                       "protocol": "tcp", "port_range_min": "{unique_port}",
                                       "port_range_max": "{unique_port}"}}),
    item("security_group_rule", RULE, "GET /v2.0/security-group-rules/<rule_id>",
         "/v2.0/security-group-rules/{security_group_rule}", "get_security_group_rule"),
    item("security_group_rule", RULE, "DELETE /v2.0/security-group-rules/<rule_id>",
         "/v2.0/security-group-rules/{fresh}", "delete_security_group_rule",
         fresh="security_group_rule", ok=(204,)),
    # quotas of alpha (changed: beta's, whose member may not change them either)
    C("GET /v2.0/quotas", "/v2.0/quotas", "context_is_admin", target=FOR_CREATE,
      why="every project's quotas: Neutron's _check_admin"),
    C("GET /v2.0/quotas/<project_id>", "/v2.0/quotas/{alpha}", "get_quota", target=OWNED),
    C("GET /v2.0/quotas/<project_id>/default", "/v2.0/quotas/{alpha}/default", "get_quota",
      target=OWNED),
    C("GET /v2.0/quotas/<project_id>/details", "/v2.0/quotas/{alpha}/details", "get_quota",
      target=OWNED),
    C("GET /v2.0/quotas/<project_id>/details.json", "/v2.0/quotas/{alpha}/details.json",
      "get_quota", target=OWNED),
    C("PUT /v2.0/quotas/<project_id>", "/v2.0/quotas/{beta}", "update_quota", target=BETA,
      json={"quota": {"network": 50}}),
    C("DELETE /v2.0/quotas/<project_id>", "/v2.0/quotas/{beta}", "delete_quota",
      target=BETA, ok=(204,)),
    # tags, on alpha's network
    item("network", NETWORK, f"GET {TAGS}", NET_TAGS, "get_network"),
    item("network", NETWORK, f"PUT {TAGS}", NET_TAGS, "update_network",
         json={"tags": ["rm-tag"]}),
    item("network", NETWORK, f"DELETE {TAGS}", FRESH_TAGS, "update_network",
         fresh="tagged_network", ok=(204,)),
    item("network", NETWORK, f"GET {TAGS}/<tag>", NET_TAGS + "/rm-tag", "get_network",
         ok=(204,)),
    item("network", NETWORK, f"PUT {TAGS}/<tag>", NET_TAGS + "/rm-new", "update_network",
         ok=(201,)),
    item("network", NETWORK, f"DELETE {TAGS}/<tag>", FRESH_TAGS + "/rm-tag",
         "update_network", fresh="tagged_network", ok=(204,)),
    C("GET /pocketstack/v1/events", "/pocketstack/v1/events", "events:list"),
]
